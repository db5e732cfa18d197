//! Parsers for the CLI's numbers. Each returns a message clap prints after "invalid value".

/// A count of elements or paths: `33554432`, `33_554_432`, `2^25`, `32Mi` (binary suffixes Ki, Mi,
/// Gi, Ti) or `32M` (decimal k, M, G, T). Zero and negative numbers are refused.
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let hint = "expected a positive count such as 33554432, 2^25 or 32Mi";
    if t.starts_with('-') {
        return Err(format!("must be positive ({hint})"));
    }
    let value: Option<u128> = if let Some((base, exp)) = t.split_once('^') {
        let base: u128 = base.parse().map_err(|_| hint.to_string())?;
        let exp: u32 = exp.parse().map_err(|_| hint.to_string())?;
        base.checked_pow(exp)
    } else {
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, suffix) = t.split_at(split);
        let scale: u128 = match suffix {
            "" => 1,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "Ti" => 1 << 40,
            "k" | "K" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            _ => return Err(hint.to_string()),
        };
        let digits: u128 = digits.parse().map_err(|_| hint.to_string())?;
        digits.checked_mul(scale)
    };
    match value {
        Some(0) => Err("must be positive".to_string()),
        Some(v) if v <= u64::MAX as u128 => Ok(v as u64),
        _ => Err("too large (at most 2^64 - 1)".to_string()),
    }
}

/// A thread or repetition count: a positive integer (its upper limit is checked later, against the
/// machine).
pub fn positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<i128>() {
        Ok(v) if v >= 1 && v <= usize::MAX as i128 => Ok(v as usize),
        Ok(_) => Err("must be a positive integer".to_string()),
        Err(_) => Err("expected a positive integer".to_string()),
    }
}

/// A price, strike, volatility or maturity: finite and strictly positive.
pub fn positive_real(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("must be finite and > 0, got {v}")),
        Err(_) => Err("expected a number".to_string()),
    }
}

/// An interest rate: any finite number (rates can be zero or negative).
pub fn finite_real(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!("must be finite, got {v}")),
        Err(_) => Err("expected a number".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("33554432"), Ok(33554432));
        assert_eq!(size("2^25"), Ok(1 << 25));
        assert_eq!(size("32Mi"), Ok(32 << 20));
        assert_eq!(size("1_000"), Ok(1000));
        assert_eq!(size("3k"), Ok(3000));
        assert_eq!(size("2^64 "), Err("too large (at most 2^64 - 1)".into()));
        assert!(size("0").is_err());
        assert!(size("-5").is_err());
        assert!(size("2^").is_err());
        assert!(size("12Qi").is_err());
        assert!(size("").is_err());
        assert!(size("1.5").is_err());
    }

    #[test]
    fn reals_and_counts() {
        assert_eq!(positive("3"), Ok(3));
        assert!(positive("0").is_err() && positive("-1").is_err() && positive("x").is_err());
        assert!(
            positive_real("0").is_err()
                && positive_real("-1").is_err()
                && positive_real("inf").is_err()
        );
        assert!(positive_real("NaN").is_err());
        assert_eq!(finite_real("-0.01"), Ok(-0.01));
        assert!(finite_real("nan").is_err());
    }
}
