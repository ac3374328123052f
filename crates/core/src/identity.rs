//! Accounts, principals and their access keys: who a signature can belong to.
use crate::{Principal, PrincipalKind, DEFAULT_ACCOUNT};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;

/// A secret and the principal it authenticates.
#[derive(Debug, Clone)]
pub struct Credential {
    pub secret: String,
    pub principal: Principal,
    /// Temporary credentials must present this token (`X-Amz-Security-Token`).
    pub session_token: Option<String>,
    /// Unix seconds after which the credential is refused.
    pub expires_at: Option<i64>,
    pub active: bool,
}

/// The bootstrap file: further accounts, their users and keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    #[serde(default, rename = "account")]
    pub accounts: Vec<BootstrapAccount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapAccount {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub canonical_id: Option<String>,
    #[serde(default)]
    pub root_keys: Vec<BootstrapKey>,
    #[serde(default, rename = "user")]
    pub users: Vec<BootstrapUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapUser {
    pub name: String,
    #[serde(default)]
    pub keys: Vec<BootstrapKey>,
    /// Managed policy ARNs attached to the user (`arn:aws:iam::aws:policy/AdministratorAccess`).
    #[serde(default)]
    pub policies: Vec<String>,
}

/// The stable unique id (`AIDA...`) of a user declared in the bootstrap file.
pub fn bootstrap_user_id(account: &str, name: &str) -> String {
    format!("AIDA{}", &hex::encode(Sha256::digest(format!("{account}:{name}")))[..17].to_uppercase())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapKey {
    pub access_key: String,
    pub secret_key: String,
}

/// An account as S3 reports owners.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub canonical_id: String,
    pub display_name: String,
    pub email: String,
}

/// The credential store. The IAM service will manage it; today it is filled at start-up.
#[derive(Default)]
pub struct Identities {
    keys: RwLock<HashMap<String, Credential>>,
    accounts: RwLock<HashMap<String, Account>>,
}

fn derived_canonical_id(account_id: &str) -> String {
    hex::encode(Sha256::digest(format!("nuage-canonical-{account_id}")))
}

impl Identities {
    /// The default account `000000000000` with root keys `test`/`test`, plus the bootstrap.
    pub fn new(bootstrap: &Bootstrap) -> Identities {
        let ids = Identities::default();
        let default_present = bootstrap.accounts.iter().any(|a| a.id == DEFAULT_ACCOUNT);
        if !default_present {
            ids.add_account(&BootstrapAccount {
                id: DEFAULT_ACCOUNT.into(),
                display_name: None,
                email: None,
                canonical_id: None,
                root_keys: vec![BootstrapKey { access_key: "test".into(), secret_key: "test".into() }],
                users: vec![],
            });
        }
        for a in &bootstrap.accounts {
            ids.add_account(a);
        }
        ids
    }

    /// An account without keys of its own (AWS's, owning the public sample buckets): its
    /// root principal, for the calls nuage makes on its behalf.
    pub fn add_keyless_account(&self, id: &str, display_name: &str) -> Principal {
        self.add_account(&BootstrapAccount {
            id: id.into(),
            display_name: Some(display_name.into()),
            email: None,
            canonical_id: None,
            root_keys: vec![],
            users: vec![],
        });
        self.root(id).expect("just added")
    }

    /// The root principal of an account, for calls nuage makes on the account's behalf
    /// (Redshift reading a cluster's security groups).
    pub fn root(&self, id: &str) -> Option<Principal> {
        let account = self.account(id)?;
        Some(Principal {
            account_id: id.into(),
            kind: PrincipalKind::Root,
            name: account.display_name.clone(),
            arn: format!("arn:aws:iam::{id}:root"),
            user_id: id.into(),
            canonical_id: account.canonical_id,
            display_name: account.display_name,
            role_arn: None,
            session_key: None,
            source_arn: None,
            source_account: None,
        })
    }

    fn add_account(&self, a: &BootstrapAccount) {
        let account = Account {
            id: a.id.clone(),
            canonical_id: a.canonical_id.clone().unwrap_or_else(|| derived_canonical_id(&a.id)),
            display_name: a.display_name.clone().unwrap_or_else(|| format!("account-{}", a.id)),
            email: a.email.clone().unwrap_or_default(),
        };
        let root = Principal {
            account_id: a.id.clone(),
            kind: PrincipalKind::Root,
            name: account.display_name.clone(),
            arn: format!("arn:aws:iam::{}:root", a.id),
            user_id: a.id.clone(),
            canonical_id: account.canonical_id.clone(),
            display_name: account.display_name.clone(),
            role_arn: None,
            session_key: None,
            source_arn: None,
            source_account: None,
        };
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        for k in &a.root_keys {
            keys.insert(
                k.access_key.clone(),
                Credential {
                    secret: k.secret_key.clone(),
                    principal: root.clone(),
                    session_token: None,
                    expires_at: None,
                    active: true,
                },
            );
        }
        for u in &a.users {
            let uid = bootstrap_user_id(&a.id, &u.name);
            let p = Principal {
                account_id: a.id.clone(),
                kind: PrincipalKind::User,
                name: u.name.clone(),
                arn: format!("arn:aws:iam::{}:user/{}", a.id, u.name),
                user_id: uid,
                canonical_id: account.canonical_id.clone(),
                display_name: account.display_name.clone(),
                role_arn: None,
                session_key: None,
                source_arn: None,
                source_account: None,
            };
            for k in &u.keys {
                keys.insert(
                    k.access_key.clone(),
                    Credential {
                        secret: k.secret_key.clone(),
                        principal: p.clone(),
                        session_token: None,
                        expires_at: None,
                        active: true,
                    },
                );
            }
        }
        self.accounts.write().unwrap_or_else(|e| e.into_inner()).insert(a.id.clone(), account);
    }

    /// Adds or replaces a credential (IAM access keys, STS sessions).
    pub fn put_credential(&self, access_key: &str, credential: Credential) {
        self.keys.write().unwrap_or_else(|e| e.into_inner()).insert(access_key.to_string(), credential);
    }

    pub fn remove_credential(&self, access_key: &str) {
        self.keys.write().unwrap_or_else(|e| e.into_inner()).remove(access_key);
    }

    /// The credentials of the bootstrap file, which IAM does not manage: (access key, credential).
    pub fn all_credentials(&self) -> Vec<(String, Credential)> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, c)| (k.clone(), c.clone())).collect()
    }

    /// Every account nuage knows.
    pub fn accounts(&self) -> Vec<Account> {
        self.accounts.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    pub fn credential(&self, access_key: &str) -> Option<Credential> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).get(access_key).cloned()
    }

    pub fn account(&self, id: &str) -> Option<Account> {
        self.accounts.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    pub fn account_by_canonical_id(&self, canonical_id: &str) -> Option<Account> {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .find(|a| a.canonical_id == canonical_id)
            .cloned()
    }

    pub fn account_by_email(&self, email: &str) -> Option<Account> {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .find(|a| !a.email.is_empty() && a.email.eq_ignore_ascii_case(email))
            .cloned()
    }
}
