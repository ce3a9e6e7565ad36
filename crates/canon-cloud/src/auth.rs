//! API keys: scopes, the [`Principal`] a key resolves to, and how keys are
//! kept at rest.
//!
//! # Keys at rest
//!
//! The store never holds a key, only `HMAC-SHA256(secret, key)`. The
//! secret is the server's: [`CloudConfig::api_key_secret`] when set (then
//! it never touches the disk), else 32 random bytes made on the first
//! open and kept in the store, so that keys outlive a restart. A keyed
//! hash, unlike a per-key salt, can be looked up by index; the lookup's
//! timing depends only on an HMAC output, which tells an attacker nothing
//! without the secret, and the stored hash is then compared with the
//! computed one in constant time (`subtle`).
//!
//! [`CloudConfig::api_key_secret`]: crate::CloudConfig::api_key_secret
//!
//! # Scopes
//!
//! Each operation needs one [`Scope`]; a key without it gets
//! PERMISSION_DENIED (`API_KEY_SCOPE_MISSING`). A key also sees only its
//! own project: asking for another project's resource is
//! PERMISSION_DENIED (`PROJECT_PERMISSION_DENIED`) whether or not the
//! resource, or the project, exists (AIP-193: permission before
//! existence).
//!
//! ```
//! use canon_cloud::auth::{Scope, Scopes};
//!
//! let scopes: Scopes = "read:machines write:machines".parse().unwrap();
//! assert!(scopes.contains(Scope::WriteMachines));
//! assert!(!scopes.contains(Scope::WriteDisks));
//! assert_eq!(scopes.to_string(), "read:machines write:machines");
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, PoisonError, RwLock};

use hmac::{Hmac, Mac};
use rand::TryRngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::model::ParseEnumError;

macro_rules! scopes {
    ($( $(#[$doc:meta])* $variant:ident => $text:literal ),* $(,)?) => {
        /// A permission an API key may hold.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Scope { $( $(#[$doc])* $variant, )* }

        impl Scope {
            /// Every scope.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant),*];

            /// The scope's name, such as `write:machines`.
            pub const fn as_str(self) -> &'static str {
                match self { $( Scope::$variant => $text, )* }
            }
        }

        impl FromStr for Scope {
            type Err = ParseEnumError;

            fn from_str(s: &str) -> Result<Scope, ParseEnumError> {
                Scope::ALL
                    .iter()
                    .copied()
                    .find(|scope| scope.as_str() == s)
                    .ok_or_else(|| ParseEnumError::new("Scope", s, vec![$($text),*]))
            }
        }
    };
}

scopes! {
    /// Read projects and quotas.
    ReadProjects => "read:projects",
    /// Read VMs.
    ReadMachines => "read:machines",
    /// Create, start, stop, resize and terminate VMs.
    WriteMachines => "write:machines",
    /// Read disks.
    ReadDisks => "read:disks",
    /// Create, attach, detach, resize and delete disks.
    WriteDisks => "write:disks",
    /// Read clusters.
    ReadClusters => "read:clusters",
    /// Create, resize and delete clusters.
    WriteClusters => "write:clusters",
    /// Read SSH keys.
    ReadSshKeys => "read:ssh-keys",
    /// Add and delete SSH keys.
    WriteSshKeys => "write:ssh-keys",
    /// Read images.
    ReadImages => "read:images",
    /// Import and delete images.
    WriteImages => "write:images",
    /// Read long-running operations (and create them, for a surface).
    ReadOperations => "read:operations",
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes. Its text form lists the names separated by spaces
/// (commas are accepted too); `*` stands for every scope.
///
/// One bit per scope, so that copying a caller's scopes (every request
/// does) allocates nothing.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u32);

impl Scopes {
    /// No scope.
    pub fn none() -> Scopes {
        Scopes::default()
    }

    /// Every scope.
    pub fn all() -> Scopes {
        Scope::ALL.iter().copied().collect()
    }

    /// Whether the set holds this scope.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0 & Scopes::bit(scope) != 0
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        Scope::ALL.iter().copied().filter(|scope| self.contains(*scope))
    }

    /// Adds a scope.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= Scopes::bit(scope);
    }

    fn bit(scope: Scope) -> u32 {
        1 << scope as u32
    }
}

// One bit per scope fits in the `u32`.
const _: () = assert!(Scope::ALL.len() <= 32);

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scopes(")?;
        f.debug_set().entries(self.iter()).finish()?;
        f.write_str(")")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        let mut scopes = Scopes::none();
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

impl FromStr for Scopes {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Scopes, ParseEnumError> {
        let mut scopes = Scopes::none();
        for name in s.split([' ', ',']).map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return Ok(Scopes::all());
            }
            scopes.insert(name.parse()?);
        }
        Ok(scopes)
    }
}

/// Who is calling: an authenticated API key, its project and its scopes.
///
/// Only [`Cloud::authenticate`](crate::Cloud::authenticate) makes one, so
/// holding a Principal means the key was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    // Shared strings: the key cache hands out a copy of the principal to
    // every request, which then costs no allocation.
    pub(crate) key_id: Arc<str>,
    pub(crate) project_id: Arc<str>,
    pub(crate) scopes: Scopes,
}

impl Principal {
    /// The API key's id (not the key).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key's project: the only one it can see.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The key's scopes.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }
}

/// An API key's record, without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The id (UUID-shaped), safe to show.
    pub id: String,
    /// The project it works in.
    pub project_id: String,
    /// A display name.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: crate::clock::Timestamp,
}

/// A new API key: the record and the key itself, which is shown this once
/// and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedApiKey {
    /// The record.
    pub api_key: ApiKey,
    /// The key to hand to the client.
    pub secret: String,
}

/// The keyed hash of API keys.
#[derive(Clone)]
pub(crate) struct KeyHasher {
    /// The HMAC with the secret already absorbed, copied for each hash
    /// (which then costs two SHA-256 blocks rather than four).
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHasher { secret: <hidden> }")
    }
}

impl KeyHasher {
    pub(crate) fn new(secret: Vec<u8>) -> KeyHasher {
        KeyHasher { keyed: Hmac::<Sha256>::new_from_slice(&secret).expect("HMAC takes a key of any length") }
    }

    /// `HMAC-SHA256(secret, key)`.
    pub(crate) fn hash(&self, key: &str) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `stored` is the hash of `key`, compared in constant time.
    #[cfg(test)]
    pub(crate) fn verify(&self, key: &str, stored: &[u8]) -> bool {
        KeyHasher::matches(&self.hash(key), stored)
    }

    /// Whether `stored` is `hash`, compared in constant time.
    pub(crate) fn matches(hash: &[u8; 32], stored: &[u8]) -> bool {
        bool::from(hash.as_slice().ct_eq(stored))
    }
}

/// API keys verified against the store, by their keyed hash, so that a
/// request with a known key needs no query.
///
/// Each entry carries the store's key generation (see
/// [`Store::key_generation`](crate::store::Store::key_generation)) at which
/// it was read, and counts only while the generation is the same: any
/// write to the table of keys, through whatever statement, and any change
/// to a file store made by another connection, moves the generation on,
/// so that a key revoked or changed is refused or re-read on the next
/// request. Only keys that were found are kept (an unknown key always
/// costs a query), and at most [`KeyCache::CAPACITY`] of them.
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    entries: RwLock<HashMap<[u8; 32], (u64, Principal)>>,
}

impl KeyCache {
    /// The most keys kept; past it the cache starts again empty.
    const CAPACITY: usize = 1024;

    /// The principal of a key verified at this generation.
    pub(crate) fn get(&self, hash: &[u8; 32], generation: u64) -> Option<Principal> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.get(hash) {
            Some((seen, principal)) if *seen == generation => Some(principal.clone()),
            _ => None,
        }
    }

    /// Keeps a key read from the store at `generation`.
    pub(crate) fn insert(&self, hash: [u8; 32], generation: u64, principal: Principal) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= KeyCache::CAPACITY && !entries.contains_key(&hash) {
            entries.retain(|_, (seen, _)| *seen == generation);
            if entries.len() >= KeyCache::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(hash, (generation, principal));
    }
}

/// Fills a buffer from the operating system's randomness.
pub(crate) fn random_bytes(buffer: &mut [u8]) {
    rand::rngs::OsRng.try_fill_bytes(buffer).expect("the operating system provides randomness");
}

/// 64 bits of the operating system's randomness.
pub(crate) fn random_u64() -> u64 {
    let mut bytes = [0; 8];
    random_bytes(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// The part of an API key before its first `$`, when the key has a `$`
/// after at least one character: what is left of the key when a shell
/// expands the rest as a variable (`APIKey 1234$abcd` in double quotes
/// sends `APIKey 1234`). Gcore's permanent tokens have this shape, an id,
/// a `$` and the secret, so the part is the token's id, not its secret.
///
/// ```
/// use canon_cloud::auth::prefix_before_dollar;
///
/// assert_eq!(prefix_before_dollar("1234$abcd$ef"), Some("1234"));
/// assert_eq!(prefix_before_dollar("$abcd"), None);
/// assert_eq!(prefix_before_dollar("ck_0123"), None);
/// ```
pub fn prefix_before_dollar(key: &str) -> Option<&str> {
    let end = key.find('$')?;
    (end > 0).then(|| &key[..end])
}

/// A new API key: `ck_` and 40 hex digits (160 random bits).
pub(crate) fn new_key_value() -> String {
    let mut bytes = [0u8; 20];
    random_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ck_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_print() {
        let table: &[(&str, Option<&str>)] = &[
            ("read:machines", Some("read:machines")),
            ("write:machines,read:machines", Some("read:machines write:machines")),
            ("", Some("")),
            ("*", Some(&Scopes::all().to_string())),
            ("read:everything", None),
        ];
        for &(input, expected) in table {
            assert_eq!(input.parse::<Scopes>().ok().map(|s| s.to_string()).as_deref(), expected, "{input:?}");
        }
    }

    #[test]
    fn hashes_depend_on_the_secret_and_verify_in_constant_time() {
        let a = KeyHasher::new(b"one".to_vec());
        let b = KeyHasher::new(b"two".to_vec());
        assert_ne!(a.hash("key"), b.hash("key"));
        assert!(a.verify("key", &a.hash("key")));
        assert!(!a.verify("key", &b.hash("key")));
        assert!(!a.verify("key", &a.hash("key")[..31]));
        assert!(format!("{a:?}").contains("hidden"));
    }

    #[test]
    fn the_cache_answers_only_at_the_generation_it_was_filled_at() {
        let cache = KeyCache::default();
        let who = Principal { key_id: "k".into(), project_id: "p".into(), scopes: Scopes::all() };
        let hash = [7; 32];
        assert_eq!(cache.get(&hash, 1), None);
        cache.insert(hash, 1, who.clone());
        assert_eq!(cache.get(&hash, 1), Some(who.clone()));
        assert_eq!(cache.get(&hash, 2), None);
        assert_eq!(cache.get(&[8; 32], 1), None);
        // Full: entries of older generations go first, then everything.
        for n in 0..KeyCache::CAPACITY {
            let mut other = [0; 32];
            other[..8].copy_from_slice(&(n as u64).to_le_bytes());
            cache.insert(other, 2, who.clone());
        }
        assert_eq!(cache.get(&hash, 1), None);
        assert!(cache.entries.read().unwrap().len() <= KeyCache::CAPACITY);
    }

    #[test]
    fn new_keys_are_random_and_well_formed() {
        let (k1, k2) = (new_key_value(), new_key_value());
        assert_ne!(k1, k2);
        assert_eq!(k1.len(), 43);
        assert!(k1.starts_with("ck_"));
    }
}
