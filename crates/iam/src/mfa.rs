//! Virtual MFA devices: TOTP (RFC 6238: HMAC-SHA1, 30-second steps, six digits) as the
//! authenticator apps compute it, the device's base32 seed, and its QR code as a PNG.
use hmac::{Hmac, Mac};
use rand::Rng;

const STEP_SECONDS: i64 = 30;

/// A new device's secret: 40 random bytes, in base32 (64 characters, as IAM's seeds are).
pub fn new_seed() -> String {
    let bytes: Vec<u8> = (0..40).map(|_| rand::thread_rng().gen()).collect();
    data_encoding::BASE32_NOPAD.encode(&bytes)
}

/// The six-digit code of `seed` for time step `step`.
pub fn code(seed: &str, step: i64) -> Option<String> {
    let key = data_encoding::BASE32_NOPAD.decode(seed.trim_end_matches('=').as_bytes()).ok()?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    Some(format!("{:06}", bin % 1_000_000))
}

pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The step of a code the device shows now (one step of clock drift either way), newer than
/// `last_step` so that a code is used once.
pub fn verify(seed: &str, given: &str, now: i64, last_step: i64) -> Option<i64> {
    let now = step_of(now);
    (now - 1..=now + 1).filter(|s| *s > last_step).find(|s| code(seed, *s).as_deref() == Some(given))
}

/// Two consecutive codes (EnableMFADevice, ResyncMFADevice): the step of the second. The
/// device's clock may have drifted by up to ten minutes.
pub fn verify_pair(seed: &str, first: &str, second: &str, now: i64, last_step: i64) -> Option<i64> {
    let now = step_of(now);
    (now - 20..=now + 20)
        .filter(|s| *s > last_step)
        .find(|s| code(seed, *s).as_deref() == Some(first) && code(seed, s + 1).as_deref() == Some(second))
        .map(|s| s + 1)
}

/// The QR code an authenticator app scans: the `otpauth://` URI of the device, as a PNG.
pub fn qr_png(label: &str, seed: &str) -> Vec<u8> {
    let uri = format!("otpauth://totp/{}?secret={seed}&issuer=Amazon%20Web%20Services", label.replace(' ', "%20"));
    let Ok(qr) = qrcode::QrCode::new(uri.as_bytes()) else { return Vec::new() };
    let modules = qr.width();
    let colors = qr.to_colors();
    // Four pixels a module, four modules of quiet zone around.
    let (scale, quiet) = (4usize, 4usize);
    let side = (modules + 2 * quiet) * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % modules + quiet, i / modules + quiet);
            for dy in 0..scale {
                let row = (y * scale + dy) * side;
                pixels[row + x * scale..row + x * scale + scale].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder.write_header().and_then(|mut w| w.write_image_data(&pixels));
    if written.is_err() {
        return Vec::new();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // The RFC's SHA-1 key "12345678901234567890", in base32; its codes are the last six
        // digits of the RFC's eight.
        let seed = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        assert_eq!(code(&seed, step_of(59)).unwrap(), "287082");
        assert_eq!(code(&seed, step_of(1111111109)).unwrap(), "081804");
        assert_eq!(code(&seed, step_of(1234567890)).unwrap(), "005924");
        assert_eq!(code(&seed, step_of(20000000000)).unwrap(), "353130");
    }

    #[test]
    fn codes_verify_once_and_in_pairs() {
        let seed = new_seed();
        let now = 1_700_000_000;
        let c = code(&seed, step_of(now)).unwrap();
        let step = verify(&seed, &c, now, 0).unwrap();
        assert_eq!(verify(&seed, &c, now, step), None, "replayed");
        let (a, b) = (code(&seed, step_of(now) - 3).unwrap(), code(&seed, step_of(now) - 2).unwrap());
        assert_eq!(verify_pair(&seed, &a, &b, now, 0), Some(step_of(now) - 2));
        assert_eq!(verify_pair(&seed, &b, &a, now, 0), None);
        assert!(qr_png("Amazon Web Services:dev@000000000000", &seed).starts_with(b"\x89PNG"));
    }
}
