//! The floor every other module stands on: the vocabulary (backends, precisions, kernels, launch
//! shapes, scopes), the hardware facts, the rows a run produces and the document that holds
//! them. Plain data and pure functions over it: nothing here imports anything else of the crate,
//! so every layer above can name these types without an import going up or round.

mod document;
mod hardware;
mod kernels;
mod read;
mod rows;
mod vocab;

pub use document::*;
pub use hardware::*;
pub use kernels::*;
pub use read::ReadError;
pub use rows::*;
pub use vocab::*;
