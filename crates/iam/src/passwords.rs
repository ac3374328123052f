//! Console passwords: kept salted and stretched, checked against the account password policy
//! (or IAM's default policy when the account has none), as CreateLoginProfile,
//! UpdateLoginProfile and ChangePassword check them.
use crate::state::PasswordPolicy;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const ROUNDS: u32 = 20_000;

/// A password as stored: PBKDF2-HMAC-SHA256 over a random salt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hashed {
    pub salt: String,
    pub hash: String,
}

fn derive(password: &str, salt: &[u8]) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, ROUNDS, &mut out);
    hex::encode(out)
}

impl Hashed {
    pub fn new(password: &str) -> Hashed {
        let salt: [u8; 16] = rand::thread_rng().gen();
        Hashed { salt: hex::encode(salt), hash: derive(password, &salt) }
    }

    pub fn matches(&self, password: &str) -> bool {
        let Ok(salt) = hex::decode(&self.salt) else { return false };
        // Compared whole: the hashes are of equal length and reveal nothing of the password.
        derive(password, &salt) == self.hash
    }
}

/// The characters IAM counts as symbols.
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// Why `password` breaks the policy, in IAM's words; `None` when it complies. Without a
/// policy, IAM's default applies: 8 to 128 characters, three of the four character types,
/// not the account's name.
pub fn violation(password: &str, policy: Option<&PasswordPolicy>, account_name: &str) -> Option<String> {
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    let length = password.chars().count();
    if length > 128 {
        return Some("Password should have a maximum length of 128".into());
    }
    match policy {
        Some(p) => {
            if (length as i32) < p.minimum_length {
                return Some(format!("Password should have a minimum length of {}", p.minimum_length));
            }
            let rules = [
                (p.require_lowercase && !lower, "Password should have at least one lowercase letter"),
                (p.require_uppercase && !upper, "Password should have at least one uppercase letter"),
                (p.require_numbers && !digit, "Password should have at least one number"),
                (p.require_symbols && !symbol, "Password should have at least one symbol"),
            ];
            rules.iter().find(|(broken, _)| *broken).map(|(_, why)| why.to_string())
        }
        None => {
            if length < 8 {
                return Some("Password should have a minimum length of 8".into());
            }
            if [upper, lower, digit, symbol].iter().filter(|x| **x).count() < 3 {
                return Some("Password should have at least three of the four character types: uppercase letters, lowercase letters, numbers and symbols".into());
            }
            if password.eq_ignore_ascii_case(account_name) {
                return Some("Password should not be the account name".into());
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_only_their_password() {
        let h = Hashed::new("Correct-Horse-9");
        assert!(h.matches("Correct-Horse-9"));
        assert!(!h.matches("correct-horse-9"));
        assert_ne!(Hashed::new("Correct-Horse-9").hash, h.hash, "salted");
    }

    #[test]
    fn default_and_custom_policies() {
        assert_eq!(violation("short", None, "acct").unwrap(), "Password should have a minimum length of 8");
        assert!(violation("alllowercase", None, "acct").unwrap().contains("three of the four"));
        assert_eq!(violation("Lower-and-9", None, "acct"), None);
        let p = PasswordPolicy {
            minimum_length: 12,
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
            allow_users_to_change: true,
            max_age: 0,
            reuse_prevention: 0,
            hard_expiry: false,
        };
        assert_eq!(violation("Short-9", Some(&p), "a").unwrap(), "Password should have a minimum length of 12");
        assert_eq!(violation("NoSymbolsHere99", Some(&p), "a").unwrap(), "Password should have at least one symbol");
        assert_eq!(violation("Has-Symbol-and-9", Some(&p), "a"), None);
    }
}
