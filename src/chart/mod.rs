//! Charts (being written by the chart helper: this stub only fixes the signature the CLI calls).

#[derive(Debug, thiserror::Error)]
#[error("charts are not built yet")]
pub struct ChartError;

pub fn render(
    _files: &[std::path::PathBuf],
    _out_dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, ChartError> {
    Err(ChartError)
}
