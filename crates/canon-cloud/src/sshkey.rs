//! Reading an OpenSSH public key line and computing its fingerprint the way
//! `ssh-keygen -l` does: `SHA256:` and the unpadded base64 of the SHA-256
//! of the key blob.

use sha2::{Digest, Sha256};

/// The key types the emulator accepts.
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A public key read from its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicKey {
    pub(crate) key_type: String,
    pub(crate) fingerprint: String,
    pub(crate) comment: String,
    /// The line, normalised to single spaces.
    pub(crate) line: String,
}

/// Reads `type base64 [comment]`. The error says what is wrong, as a field
/// description.
pub(crate) fn parse(line: &str) -> Result<PublicKey, String> {
    let mut parts = line.split_whitespace();
    let (Some(key_type), Some(data)) = (parts.next(), parts.next()) else {
        return Err("Expected an OpenSSH public key: 'type base64 [comment]'.".to_owned());
    };
    if !KEY_TYPES.contains(&key_type) {
        return Err(format!("Unsupported key type '{key_type}'."));
    }
    let blob = decode_base64(data).ok_or_else(|| "The key data is not valid base64.".to_owned())?;
    let declared = blob_type(&blob).ok_or_else(|| "The key data is truncated.".to_owned())?;
    if declared != key_type.as_bytes() {
        return Err(format!("The key data is not a '{key_type}' key."));
    }
    let comment: Vec<&str> = parts.collect();
    let comment = comment.join(" ");
    let digest = Sha256::digest(&blob);
    let fingerprint = format!("SHA256:{}", encode_base64(&digest).trim_end_matches('='));
    let line = if comment.is_empty() { format!("{key_type} {data}") } else { format!("{key_type} {data} {comment}") };
    Ok(PublicKey { key_type: key_type.to_owned(), fingerprint, comment, line })
}

/// The type string at the start of a key blob (a uint32 length and the
/// bytes).
fn blob_type(blob: &[u8]) -> Option<&[u8]> {
    let length = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    blob.get(4..4 + length)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64; padding required to a multiple of four characters.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let last = index == bytes.len() / 4 - 1;
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let value = match c {
                b'=' if last && i >= 4 - padding => 0,
                _ => ALPHABET.iter().position(|&a| a == c)? as u32,
            };
            n = (n << 6) | value;
        }
        let take = if last { 3 - padding } else { 3 };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

#[cfg(test)]
pub(crate) fn test_key(seed: u8, comment: &str) -> String {
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend(std::iter::repeat_n(seed, 32));
    format!("ssh-ed25519 {} {comment}", encode_base64(&blob)).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_rfc_4648() {
        let table: &[(&str, &str)] =
            &[("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for &(plain, encoded) in table {
            assert_eq!(encode_base64(plain.as_bytes()), encoded);
            if !plain.is_empty() {
                assert_eq!(decode_base64(encoded).as_deref(), Some(plain.as_bytes()));
            }
        }
        for bad in ["Zg=", "Z===", "Zm9v!A==", "=Zm9", ""] {
            assert_eq!(decode_base64(bad), None, "{bad}");
        }
    }

    #[test]
    fn fingerprints_match_ssh_keygen() {
        // The expected fingerprints are what `ssh-keygen -l -f` printed for
        // these lines; the second key was made by `ssh-keygen -t ed25519`.
        let table: &[(&str, &str, &str)] = &[
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH alice@example",
                "SHA256:gNSIRW+2Iyiuvsdp/bgjy38bvWHw6wQm3tuoXrl3WjQ",
                "alice@example",
            ),
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGBrx0TDiUDu7rv8WtJKMrw4YGSRyMFzQNILfpMzMB0s real@example",
                "SHA256:PnmPy667oNPuFPIw35XN53aPT8iC4SuOx2bT5pgFKBc",
                "real@example",
            ),
        ];
        for &(line, fingerprint, comment) in table {
            let key = parse(line).unwrap();
            assert_eq!(key.key_type, "ssh-ed25519");
            assert_eq!(key.fingerprint, fingerprint);
            assert_eq!(key.comment, comment);
            assert_eq!(key.line, line);
        }
        assert_eq!(test_key(7, "alice@example"), table[0].0);
        let spaced = format!("  {}  ", table[0].0.replace(' ', "   "));
        assert_eq!(parse(&spaced).unwrap(), parse(table[0].0).unwrap());
    }

    #[test]
    fn bad_keys_say_why() {
        let table: &[(&str, &str)] = &[
            ("", "Expected an OpenSSH public key"),
            ("ssh-ed25519", "Expected an OpenSSH public key"),
            ("ssh-foo AAAA", "Unsupported key type"),
            ("ssh-ed25519 !!!!", "not valid base64"),
            ("ssh-rsa AAAAC3NzaC1lZDI1NTE5", "not a 'ssh-rsa' key"),
        ];
        for &(line, why) in table {
            let error = parse(line).unwrap_err();
            assert!(error.contains(why), "{line:?}: {error}");
        }
    }
}
