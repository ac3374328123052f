//! SSH public keys of IAM users (the keys CodeCommit takes): RSA keys of at least 2048 bits,
//! uploaded in OpenSSH (`ssh-rsa AAAA...`) or PEM form, at most five per user, each with its
//! MD5 fingerprint; GetSSHPublicKey gives a key back in either encoding.
use super::*;
use crate::state::SshKey;
use base64::Engine as _;
use nuage_protocol::iam::errors::Error as E;

/// How many SSH public keys a user may hold.
const KEYS_PER_USER: usize = 5;

fn invalid_key(why: &str) -> AwsError {
    E::InvalidPublicKeyException.msg(format!("The specified SSH public key is not valid: {why}"))
}

fn unrecognized(what: &str) -> AwsError {
    E::UnrecognizedPublicKeyEncodingException.msg(format!(
        "The public key encoding format is unsupported or unrecognized: {what} is neither an OpenSSH (ssh-rsa) key nor a PEM-encoded public key."
    ))
}

/// An RSA public key: its modulus and exponent, big-endian without leading zeros.
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

fn trim(b: &[u8]) -> Vec<u8> {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b[start..].to_vec()
}

impl RsaKey {
    fn bits(&self) -> usize {
        match self.n.first() {
            Some(&top) => (self.n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
            None => 0,
        }
    }

    /// The key in SSH's wire form, which its fingerprint hashes.
    fn ssh_blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        };
        let mpint =
            |b: &[u8]| if b.first().is_some_and(|&x| x & 0x80 != 0) { [&[0u8], b].concat() } else { b.to_vec() };
        put(b"ssh-rsa");
        put(&mpint(&self.e));
        put(&mpint(&self.n));
        out
    }

    fn openssh(&self) -> String {
        format!("ssh-rsa {}", base64::engine::general_purpose::STANDARD.encode(self.ssh_blob()))
    }

    /// PKCS#1 `RSA PUBLIC KEY` PEM, as `ssh-keygen -e -m PEM` writes it.
    fn pem(&self) -> String {
        let int = |b: &[u8]| {
            let v = if b.first().is_some_and(|&x| x & 0x80 != 0) { [&[0u8], b].concat() } else { b.to_vec() };
            der(0x02, &v)
        };
        let body = der(0x30, &[int(&self.n), int(&self.e)].concat());
        let text = base64::engine::general_purpose::STANDARD.encode(body);
        let lines: Vec<&str> = text.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        format!("-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n", lines.join("\n"))
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = trim(&(len as u64).to_be_bytes());
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Reads one DER element: its tag, its content, and what follows it.
fn der_read(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |a, &x| a << 8 | x as usize), &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }`.
fn pkcs1(b: &[u8]) -> Option<RsaKey> {
    let (0x30, seq, _) = der_read(b)? else { return None };
    let (0x02, n, rest) = der_read(seq)? else { return None };
    let (0x02, e, _) = der_read(rest)? else { return None };
    Some(RsaKey { n: trim(n), e: trim(e) })
}

/// `SubjectPublicKeyInfo` holding an RSA key (OID 1.2.840.113549.1.1.1).
fn spki(b: &[u8]) -> Option<RsaKey> {
    const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (0x30, seq, _) = der_read(b)? else { return None };
    let (0x30, alg, rest) = der_read(seq)? else { return None };
    let (0x06, oid, _) = der_read(alg)? else { return None };
    if oid != RSA_OID {
        return None;
    }
    let (0x03, bits, _) = der_read(rest)? else { return None };
    pkcs1(bits.get(1..)?)
}

/// Reads an `ssh-rsa` wire blob.
fn ssh_rsa(blob: &[u8]) -> Option<RsaKey> {
    let mut rest = blob;
    let mut field = || -> Option<&[u8]> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let v = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some(v)
    };
    if field()? != b"ssh-rsa" {
        return None;
    }
    let e = trim(field()?);
    let n = trim(field()?);
    Some(RsaKey { n, e })
}

/// Parses a key body in OpenSSH or PEM form.
fn parse(body: &str) -> AwsResult<RsaKey> {
    let body = body.trim();
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = if let Some(pem) = body.strip_prefix("-----BEGIN ") {
        let (label, rest) = pem.split_once("-----").ok_or_else(|| invalid_key("the PEM header is malformed"))?;
        let end = format!("-----END {label}-----");
        let inner = rest.split(&end).next().unwrap_or_default();
        let der: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = b64.decode(der).map_err(|_| invalid_key("the PEM body is not base64"))?;
        match label {
            "RSA PUBLIC KEY" => pkcs1(&bytes),
            "PUBLIC KEY" => spki(&bytes),
            other => return Err(unrecognized(&format!("PEM blocks of type {other}"))),
        }
    } else {
        let mut words = body.split_whitespace();
        match (words.next(), words.next()) {
            (Some("ssh-rsa"), Some(data)) => b64.decode(data).ok().and_then(|blob| ssh_rsa(&blob)),
            (Some(kind), Some(_)) if kind.starts_with("ssh-") || kind.starts_with("ecdsa-") => {
                return Err(invalid_key("IAM takes RSA keys (ssh-rsa) only"))
            }
            _ => return Err(unrecognized("this text")),
        }
    };
    let key = key.ok_or_else(|| invalid_key("its content does not decode as an RSA public key"))?;
    if key.bits() < 2048 {
        return Err(invalid_key(&format!("the key has {} bits; at least 2048 are required", key.bits())));
    }
    Ok(key)
}

fn fingerprint(key: &RsaKey) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(key.ssh_blob());
    digest.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn key_out(k: &SshKey, encoding: &str) -> AwsResult<m::SSHPublicKey> {
    let key = parse(&k.body)?;
    Ok(m::SSHPublicKey {
        user_name: Some(k.user.clone()),
        ssh_public_key_id: Some(k.id.clone()),
        fingerprint: Some(k.fingerprint.clone()),
        ssh_public_key_body: Some(if encoding == "PEM" { key.pem() } else { key.openssh() }),
        status: Some(if k.active { "Active" } else { "Inactive" }.into()),
        upload_date: Some(Timestamp(k.uploaded)),
    })
}

fn no_key(id: &str) -> AwsError {
    no_such_entity(format!("The Public Key with id {id} cannot be found."))
}

pub(super) async fn upload_ssh_public_key(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::UploadSSHPublicKeyRequest,
) -> AwsResult<m::UploadSSHPublicKeyResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&i.user_name, "UserName")?.to_string();
    let body = required(&i.ssh_public_key_body, "SSHPublicKeyBody")?.to_string();
    let key = parse(&body)?;
    let print = fingerprint(&key);
    let stored = iam
        .update(&account, move |st| {
            let user = st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?.name.clone();
            let held: Vec<&SshKey> = st.ssh_keys.values().filter(|k| k.user == user).collect();
            if held.iter().any(|k| k.fingerprint == print) {
                return Err(E::DuplicateSSHPublicKeyException
                    .msg("The request was rejected because the SSH public key is already associated with the specified IAM user."));
            }
            if held.len() >= KEYS_PER_USER {
                return Err(limit_exceeded(format!("Cannot exceed quota for PublicKeysPerUser: {KEYS_PER_USER}")));
            }
            let k = SshKey { id: new_id("APKA"), user, body, fingerprint: print, active: true, uploaded: now_ms() };
            st.ssh_keys.insert(k.id.clone(), k.clone());
            Ok(k)
        })
        .await?;
    Ok(m::UploadSSHPublicKeyResponse { ssh_public_key: Some(key_out(&stored, "SSH")?) })
}

/// The key `id` of user `user`.
fn key_of<'a>(st: &'a AccountState, user: &str, id: &str) -> AwsResult<&'a SshKey> {
    st.users.get(&ci(user)).ok_or_else(|| no_user(user))?;
    st.ssh_keys.get(id).filter(|k| k.user.eq_ignore_ascii_case(user)).ok_or_else(|| no_key(id))
}

pub(super) async fn get_ssh_public_key(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::GetSSHPublicKeyRequest,
) -> AwsResult<m::GetSSHPublicKeyResponse> {
    let user = required(&i.user_name, "UserName")?;
    let id = required(&i.ssh_public_key_id, "SSHPublicKeyId")?;
    // The model's enum (SSH, PEM) is checked by the front door.
    let encoding = required(&i.encoding, "Encoding")?;
    let st = iam.account(caller_account(ctx)?);
    Ok(m::GetSSHPublicKeyResponse { ssh_public_key: Some(key_out(key_of(&st, user, id)?, encoding)?) })
}

pub(super) async fn list_ssh_public_keys(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::ListSSHPublicKeysRequest,
) -> AwsResult<m::ListSSHPublicKeysResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = target_user(ctx, &i.user_name)?;
    let user = st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?.name.clone();
    let listed: Vec<m::SSHPublicKeyMetadata> = st
        .ssh_keys
        .values()
        .filter(|k| k.user == user)
        .map(|k| m::SSHPublicKeyMetadata {
            user_name: Some(k.user.clone()),
            ssh_public_key_id: Some(k.id.clone()),
            status: Some(if k.active { "Active" } else { "Inactive" }.into()),
            upload_date: Some(Timestamp(k.uploaded)),
        })
        .collect();
    let (items, truncated, marker) = page(listed, i.marker.as_deref(), i.max_items)?;
    Ok(m::ListSSHPublicKeysResponse { ssh_public_keys: Some(items), is_truncated: Some(truncated), marker })
}

pub(super) async fn update_ssh_public_key(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::UpdateSSHPublicKeyRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let user = required(&i.user_name, "UserName")?.to_string();
    let id = required(&i.ssh_public_key_id, "SSHPublicKeyId")?.to_string();
    let active = required(&i.status, "Status")? == "Active";
    iam.update(&account, move |st| {
        key_of(st, &user, &id)?;
        if let Some(k) = st.ssh_keys.get_mut(&id) {
            k.active = active;
        }
        Ok(())
    })
    .await
}

pub(super) async fn delete_ssh_public_key(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::DeleteSSHPublicKeyRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let user = required(&i.user_name, "UserName")?.to_string();
    let id = required(&i.ssh_public_key_id, "SSHPublicKeyId")?.to_string();
    iam.update(&account, move |st| {
        key_of(st, &user, &id)?;
        st.ssh_keys.remove(&id);
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_convert_between_encodings() {
        // A 2048-bit modulus (top bit set) and e = 65537.
        let mut n = vec![0xc5u8; 256];
        n[255] = 0x01;
        let key = RsaKey { n: n.clone(), e: vec![1, 0, 1] };
        assert_eq!(key.bits(), 2048);
        let back = parse(&key.openssh()).unwrap();
        assert_eq!((back.n.clone(), back.e.clone()), (n.clone(), vec![1, 0, 1]));
        let from_pem = parse(&key.pem()).unwrap();
        assert_eq!(fingerprint(&from_pem), fingerprint(&key));
        let short = RsaKey { n: vec![0xc5; 128], e: vec![3] };
        assert!(parse(&short.openssh()).is_err());
        assert!(parse("ssh-ed25519 AAAAC3Nza").is_err());
        assert!(parse("not a key").is_err());
    }
}
