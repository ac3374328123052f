//! DynamoDB numbers: up to 38 significant digits, magnitudes from 1E-130 to under 1E+126,
//! exact decimal arithmetic, their canonical text, their size and an encoding that sorts as
//! the numbers do (for sort keys).
use bigdecimal::BigDecimal;
use std::cmp::Ordering;
use std::str::FromStr;

/// A number as DynamoDB holds it.
#[derive(Debug, Clone)]
pub struct Number(BigDecimal);

/// Why a text is not a DynamoDB number; the messages are DynamoDB's.
#[derive(Debug, PartialEq)]
pub enum NumberError {
    NotANumber,
    TooPrecise,
    Overflow,
    Underflow,
}

impl NumberError {
    pub fn message(&self) -> &'static str {
        match self {
            NumberError::NotANumber => "A value provided cannot be converted into a number",
            NumberError::TooPrecise => "Attempting to store more than 38 significant digits in a Number",
            NumberError::Overflow => {
                "Number overflow. Attempting to store a number with magnitude larger than supported range"
            }
            NumberError::Underflow => {
                "Number underflow. Attempting to store a number with magnitude smaller than supported range"
            }
        }
    }
}

impl Number {
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        // Java-style decimal literals: sign, digits with an optional point, optional exponent;
        // no spaces, no `NaN`, no `Infinity`, no hex.
        let body = text.strip_prefix(['+', '-']).unwrap_or(text);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let digits = mantissa.chars().filter(|c| c.is_ascii_digit()).count();
        let points = mantissa.chars().filter(|&c| c == '.').count();
        let well_formed = digits > 0
            && digits + points == mantissa.len()
            && points <= 1
            && exponent.is_none_or(|e| {
                let e = e.strip_prefix(['+', '-']).unwrap_or(e);
                !e.is_empty() && e.len() <= 9 && e.chars().all(|c| c.is_ascii_digit())
            });
        if !well_formed {
            return Err(NumberError::NotANumber);
        }
        let n = BigDecimal::from_str(text).map_err(|_| NumberError::NotANumber)?;
        Number::checked(n)
    }

    /// `n` if DynamoDB can store it.
    fn checked(n: BigDecimal) -> Result<Number, NumberError> {
        let n = n.normalized();
        if n.sign() == bigdecimal::num_bigint::Sign::NoSign {
            return Ok(Number(BigDecimal::from(0)));
        }
        if n.digits() > 38 {
            return Err(NumberError::TooPrecise);
        }
        // The position of the first significant digit: 10^magnitude <= |n| < 10^(magnitude+1).
        let magnitude = n.order_of_magnitude();
        if magnitude > 125 {
            return Err(NumberError::Overflow);
        }
        if magnitude < -130 {
            return Err(NumberError::Underflow);
        }
        Ok(Number(n))
    }

    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        Number::checked(&self.0 + &other.0)
    }

    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        Number::checked(&self.0 - &other.0)
    }

    /// The text DynamoDB answers with: plain notation, no trailing zeros.
    pub fn canonical(&self) -> String {
        self.0.to_plain_string()
    }

    /// Significant digits, leading and trailing zeros trimmed.
    fn significant(&self) -> (bool, String, i64) {
        let (int, scale) = self.0.as_bigint_and_exponent();
        let negative = int.sign() == bigdecimal::num_bigint::Sign::Minus;
        let digits = int.magnitude().to_string();
        let digits = digits.trim_end_matches('0');
        // value = 0.d1d2... x 10^exponent
        let exponent = int.magnitude().to_string().len() as i64 - scale;
        (negative, digits.to_string(), exponent)
    }

    /// The bytes the number adds to an item's size: one per two significant digits, plus one.
    pub fn size(&self) -> usize {
        if self.is_zero() {
            return 1;
        }
        let (_, digits, _) = self.significant();
        digits.len().div_ceil(2) + 1
    }

    pub fn is_zero(&self) -> bool {
        self.0.sign() == bigdecimal::num_bigint::Sign::NoSign
    }

    /// Bytes that compare as the numbers do.
    pub fn sort_bytes(&self, out: &mut Vec<u8>) {
        if self.is_zero() {
            out.push(0x80);
            return;
        }
        let (negative, digits, exponent) = self.significant();
        let start = out.len();
        // Exponents span about -130..126: biased into two bytes.
        let biased = (exponent + 0x4000) as u16;
        out.extend_from_slice(&biased.to_be_bytes());
        // Digits as 1..=10 so that a terminating 0 sorts a shorter digit string first.
        out.extend(digits.bytes().map(|d| d - b'0' + 1));
        out.push(0);
        if negative {
            for b in &mut out[start..] {
                *b = !*b;
            }
            out.insert(start, 0x00);
        } else {
            out.insert(start, 0xff);
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.0 == other.0
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.0.cmp(&other.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn canonical_and_limits() {
        assert_eq!(n("1.50").canonical(), "1.5");
        assert_eq!(n("1e2").canonical(), "100");
        assert_eq!(n("-0.0").canonical(), "0");
        assert_eq!(n("+007").canonical(), "7");
        assert_eq!(Number::parse("1 ").unwrap_err(), NumberError::NotANumber);
        assert_eq!(Number::parse("abc").unwrap_err(), NumberError::NotANumber);
        assert_eq!(Number::parse("NaN").unwrap_err(), NumberError::NotANumber);
        assert_eq!(Number::parse(&"1".repeat(39)).unwrap_err(), NumberError::TooPrecise);
        assert!(Number::parse(&"9".repeat(38)).is_ok());
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert_eq!(Number::parse("1E+126").unwrap_err(), NumberError::Overflow);
        assert!(Number::parse("1E-130").is_ok());
        assert_eq!(Number::parse("1E-131").unwrap_err(), NumberError::Underflow);
    }

    #[test]
    fn sizes() {
        assert_eq!(n("0").size(), 1);
        assert_eq!(n("1").size(), 2);
        assert_eq!(n("12").size(), 2);
        assert_eq!(n("123").size(), 3);
        assert_eq!(n("1000").size(), 2);
        assert_eq!(n("0.001").size(), 2);
        assert_eq!(n(&"9".repeat(38)).size(), 20);
    }

    #[test]
    fn sort_bytes_order_as_numbers() {
        let values = [
            "-1e10", "-100", "-12.5", "-12", "-1.25", "-0.001", "0", "1E-130", "0.12", "0.123", "1", "1.5", "9", "10",
            "12", "100", "1e125",
        ];
        let enc: Vec<Vec<u8>> = values
            .iter()
            .map(|v| {
                let mut b = Vec::new();
                n(v).sort_bytes(&mut b);
                b
            })
            .collect();
        for i in 1..enc.len() {
            assert!(enc[i - 1] < enc[i], "{} < {}", values[i - 1], values[i]);
        }
    }
}
