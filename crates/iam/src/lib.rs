//! IAM and STS: users, groups, roles, policies, access keys and temporary credentials, kept
//! durably; the policies of each principal, handed to the front door's authoriser.

pub mod access_advisor;
mod api;
pub mod managed;
pub mod mfa;
pub mod passwords;
mod policies;
pub mod state;
mod sts;

use nuage_core::identity::{Credential, Identities};
use nuage_core::{AwsError, AwsResult, Principal, PrincipalKind};
use nuage_front::{PolicyStore, PrincipalPolicies};
use nuage_policy::Policy;
use nuage_protocol::iam::errors::Error as E;
use nuage_storage::redb::TableDefinition;
use nuage_storage::{JsonTable, Store};
use state::{AccessKey, AccountState, Session, User};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use api::IamService;
pub use sts::StsService;

const ACCOUNTS: JsonTable = TableDefinition::new("iam_accounts");
/// When, where and for which service each access key last signed a request.
const KEYS_LAST_USED: JsonTable = TableDefinition::new("iam_keys_last_used");
/// A key's last use is written again only when it moved on this much (AWS's own record is
/// coarse too), so a busy key costs no write per request.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KeyLastUsed {
    pub date_ms: i64,
    pub service: String,
    pub region: String,
}
const SESSIONS: JsonTable = TableDefinition::new("sts_sessions");

/// A bootstrap user: created in IAM's state the first time its account is seen, with its
/// keys and the managed policies the bootstrap file attaches.
#[derive(Clone)]
pub struct BootstrapUser {
    pub account: String,
    pub name: String,
    pub user_id: String,
    pub keys: Vec<(String, String)>,
    pub policies: Vec<String>,
}

/// IAM's state: every account's entities and the live STS sessions, mirrored in memory and
/// written through to the store.
pub struct Iam {
    store: Store,
    identities: Arc<Identities>,
    bootstrap: Vec<BootstrapUser>,
    accounts: RwLock<HashMap<String, Arc<AccountState>>>,
    sessions: RwLock<HashMap<String, Arc<Session>>>,
    last_used: RwLock<HashMap<String, KeyLastUsed>>,
    /// Each user's and role's last request to each service, by `entity|namespace`.
    service_access: RwLock<HashMap<String, access_advisor::ServiceAccess>>,
    /// Service-last-accessed reports generated, by job id.
    advisor_jobs: std::sync::Mutex<HashMap<String, Arc<api::AdvisorJob>>>,
    /// IAM writes are rare; one at a time keeps read-modify-write simple and race-free.
    writes: tokio::sync::Mutex<()>,
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn now_secs() -> i64 {
    state::now_ms() / 1000
}

impl Iam {
    /// Loads IAM's state from the store and registers every credential it holds.
    pub fn open(store: Store, identities: Arc<Identities>, bootstrap: Vec<BootstrapUser>) -> AwsResult<Arc<Iam>> {
        let iam = Arc::new(Iam {
            store,
            identities,
            bootstrap,
            accounts: RwLock::new(HashMap::new()),
            sessions: RwLock::new(HashMap::new()),
            last_used: RwLock::new(HashMap::new()),
            service_access: RwLock::new(HashMap::new()),
            advisor_jobs: std::sync::Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
        });
        iam.load()?;
        Ok(iam)
    }

    fn load(&self) -> AwsResult<()> {
        let snap = self.store.read()?;
        let mut accounts: HashMap<String, Arc<AccountState>> = HashMap::new();
        for (id, mut st) in snap.scan::<AccountState>(ACCOUNTS, "").unwrap_or_default() {
            st.parse_all();
            accounts.insert(id, Arc::new(st));
        }
        for b in &self.bootstrap {
            let st = accounts.entry(b.account.clone()).or_default();
            if !st.users.contains_key(&ci(&b.name)) {
                Arc::make_mut(st).import_bootstrap(b);
            }
        }
        for (id, st) in &accounts {
            self.sync_credentials(id, None, st);
        }
        *write_lock(&self.accounts) = accounts;
        let now = now_secs();
        let mut sessions = HashMap::new();
        for (key, mut s) in snap.scan::<Session>(SESSIONS, "").unwrap_or_default() {
            if s.expires > now {
                s.parse_policy();
                self.identities.put_credential(&key, session_credential(&s));
                sessions.insert(key, Arc::new(s));
            }
        }
        *write_lock(&self.sessions) = sessions;
        *write_lock(&self.last_used) =
            snap.scan::<KeyLastUsed>(KEYS_LAST_USED, "").unwrap_or_default().into_iter().collect();
        *write_lock(&self.service_access) =
            snap.scan(access_advisor::SERVICE_ACCESS, "").unwrap_or_default().into_iter().collect();
        Ok(())
    }

    /// The last use of an access key, if it ever signed a request.
    pub fn key_last_used(&self, access_key: &str) -> Option<KeyLastUsed> {
        read_lock(&self.last_used).get(access_key).cloned()
    }

    /// Forgets everything after the store was emptied (bootstrap users come back).
    pub fn reset(&self) {
        let old: Vec<(String, Arc<AccountState>)> = write_lock(&self.accounts).drain().collect();
        for (_, st) in &old {
            for k in st.access_keys.keys() {
                self.identities.remove_credential(k);
            }
        }
        for (k, _) in write_lock(&self.sessions).drain() {
            self.identities.remove_credential(&k);
        }
        write_lock(&self.service_access).clear();
        self.advisor_jobs.lock().unwrap_or_else(|e| e.into_inner()).clear();
        if let Err(e) = self.load() {
            tracing::error!(error = %e, "IAM state could not be reloaded after reset");
        }
    }

    /// A snapshot of one account's entities.
    pub fn account(&self, id: &str) -> Arc<AccountState> {
        read_lock(&self.accounts).get(id).cloned().unwrap_or_default()
    }

    /// The account of an IAM user's access key, active or not.
    pub fn key_owner(&self, key: &str) -> Option<String> {
        read_lock(&self.accounts).iter().find(|(_, st)| st.access_keys.contains_key(key)).map(|(id, _)| id.clone())
    }

    pub fn session(&self, key: &str) -> Option<Arc<Session>> {
        read_lock(&self.sessions).get(key).cloned()
    }

    /// Changes one account: `f` edits a copy, which is committed durably and then replaces
    /// the state in memory; if `f` fails, nothing changes.
    pub async fn update<T: Send + 'static>(
        &self,
        account: &str,
        f: impl FnOnce(&mut AccountState) -> AwsResult<T>,
    ) -> AwsResult<T> {
        let _one_writer = self.writes.lock().await;
        let old = self.account(account);
        let mut new = (*old).clone();
        let out = f(&mut new)?;
        let key = account.to_string();
        let record = new.clone();
        self.store.write(move |w| w.put(ACCOUNTS, &key, &record)).await?;
        self.sync_credentials(account, Some(&old), &new);
        write_lock(&self.accounts).insert(account.to_string(), Arc::new(new));
        Ok(out)
    }

    pub async fn put_session(&self, mut s: Session) -> AwsResult<()> {
        s.parse_policy();
        let key = s.access_key.clone();
        let record = s.clone();
        self.store.write(move |w| w.put(SESSIONS, &key, &record)).await?;
        self.identities.put_credential(&s.access_key, session_credential(&s));
        write_lock(&self.sessions).insert(s.access_key.clone(), Arc::new(s));
        Ok(())
    }

    /// Mirrors the account's access keys into the credential store the front door reads.
    fn sync_credentials(&self, account: &str, old: Option<&AccountState>, new: &AccountState) {
        if let Some(old) = old {
            for k in old.access_keys.keys().filter(|k| !new.access_keys.contains_key(*k)) {
                self.identities.remove_credential(k);
            }
        }
        let Some(acct) = self.identities.account(account) else { return };
        for key in new.access_keys.values() {
            let principal = if key.user.is_empty() {
                root_principal(&acct)
            } else {
                let Some(user) = new.users.get(&ci(&key.user)) else { continue };
                user_principal(&acct, user)
            };
            self.identities.put_credential(
                &key.id,
                Credential {
                    secret: key.secret.clone(),
                    principal,
                    session_token: None,
                    expires_at: None,
                    active: key.active,
                },
            );
        }
    }

    /// The parsed form of a managed policy, customer or AWS.
    fn managed(&self, st: &AccountState, arn: &str) -> Option<Arc<Policy>> {
        match st.policies.get(arn) {
            Some(p) => p.parsed.clone(),
            None => managed::by_arn(arn).map(|p| p.parsed.clone()),
        }
    }
}

impl AccountState {
    fn import_bootstrap(&mut self, b: &BootstrapUser) {
        let created = state::now_ms();
        self.users.insert(
            ci(&b.name),
            User {
                name: b.name.clone(),
                path: "/".into(),
                id: b.user_id.clone(),
                arn: format!("arn:aws:iam::{}:user/{}", b.account, b.name),
                created,
                tags: Vec::new(),
                attached: b.policies.clone(),
                inline: Default::default(),
                boundary: None,
                login_profile: None,
            },
        );
        for (id, secret) in &b.keys {
            self.access_keys.insert(
                id.clone(),
                AccessKey { id: id.clone(), secret: secret.clone(), user: b.name.clone(), active: true, created },
            );
        }
    }
}

fn root_principal(acct: &nuage_core::identity::Account) -> Principal {
    Principal {
        account_id: acct.id.clone(),
        kind: PrincipalKind::Root,
        name: acct.display_name.clone(),
        arn: format!("arn:aws:iam::{}:root", acct.id),
        user_id: acct.id.clone(),
        canonical_id: acct.canonical_id.clone(),
        display_name: acct.display_name.clone(),
        role_arn: None,
        session_key: None,
        source_arn: None,
        source_account: None,
    }
}

pub(crate) fn user_principal(acct: &nuage_core::identity::Account, user: &User) -> Principal {
    Principal {
        account_id: acct.id.clone(),
        kind: PrincipalKind::User,
        name: user.name.clone(),
        arn: user.arn.clone(),
        user_id: user.id.clone(),
        canonical_id: acct.canonical_id.clone(),
        display_name: acct.display_name.clone(),
        role_arn: None,
        session_key: None,
        source_arn: None,
        source_account: None,
    }
}

fn session_credential(s: &Session) -> Credential {
    Credential {
        secret: s.secret.clone(),
        principal: s.principal.clone(),
        session_token: Some(s.token.clone()),
        expires_at: Some(s.expires),
        active: true,
    }
}

impl PolicyStore for Iam {
    fn key_used(&self, access_key: &str, service: &str, region: &str) {
        let now = state::now_ms();
        let fresh =
            |u: &KeyLastUsed| u.service == service && u.region == region && now - u.date_ms < LAST_USED_GRANULARITY_MS;
        // Every signed request comes here: most find their key's use recorded within the
        // minute, under a shared lock, and stop.
        if read_lock(&self.last_used).get(access_key).is_some_and(fresh) {
            return;
        }
        let used = KeyLastUsed { date_ms: now, service: service.to_string(), region: region.to_string() };
        {
            let mut map = write_lock(&self.last_used);
            if map.get(access_key).is_some_and(fresh) {
                return;
            }
            map.insert(access_key.to_string(), used.clone());
        }
        // The key's principal used the service: recorded at the same pace.
        self.record_service_access(access_key, service, region);
        // Written in the background: a request never waits for its key's bookkeeping.
        let (store, key) = (self.store.clone(), access_key.to_string());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.write(move |w| w.put(KEYS_LAST_USED, &key, &used)).await {
                    tracing::warn!(error = %e, "an access key's last use could not be recorded");
                }
            });
        }
    }

    fn principal_exists(&self, arn: &str) -> bool {
        let Some(rest) = arn.strip_prefix("arn:aws:iam::").or_else(|| arn.strip_prefix("arn:aws:sts::")) else {
            return false;
        };
        let Some((account, resource)) = rest.split_once(':') else { return false };
        if self.identities.account(account).is_none() {
            return false;
        }
        let st = self.account(account);
        let last = |r: &str| r.rsplit('/').next().unwrap_or_default().to_string();
        if resource == "root" {
            true
        } else if let Some(user) = resource.strip_prefix("user/") {
            st.users.get(&ci(&last(user))).is_some_and(|u| u.arn == arn)
        } else if let Some(role) = resource.strip_prefix("role/") {
            st.roles.get(&ci(&last(role))).is_some_and(|r| r.arn == arn)
        } else if let Some(session) = resource.strip_prefix("assumed-role/") {
            session.split('/').next().is_some_and(|r| st.roles.contains_key(&ci(r)))
        } else {
            false
        }
    }

    fn principal_policies(&self, p: &Principal) -> PrincipalPolicies {
        let st = self.account(&p.account_id);
        let mut out = PrincipalPolicies::default();
        let attach = |out: &mut PrincipalPolicies,
                      attached: &[String],
                      inline: &std::collections::BTreeMap<String, state::Inline>| {
            for arn in attached {
                if let Some(policy) = self.managed(&st, arn) {
                    out.identity.push((arn.clone(), policy));
                }
            }
            for (name, i) in inline {
                if let Some(policy) = &i.parsed {
                    out.identity.push((name.clone(), policy.clone()));
                }
            }
        };
        match p.kind {
            PrincipalKind::Root | PrincipalKind::Service => {}
            PrincipalKind::User | PrincipalKind::UserSession => {
                let Some(user) = st.users.get(&ci(&p.name)) else { return out };
                attach(&mut out, &user.attached, &user.inline);
                for g in st.groups.values().filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&user.name))) {
                    attach(&mut out, &g.attached, &g.inline);
                }
                out.boundary = user.boundary.as_ref().and_then(|b| Some((b.clone(), self.managed(&st, b)?)));
                out.tags = user.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
                if let Some(s) = p.session_key.as_deref().and_then(|k| self.session(k)) {
                    out.token_issued = Some(s.issued).filter(|t| *t > 0);
                    out.mfa_authenticated = s.mfa_authenticated;
                }
            }
            PrincipalKind::FederatedUser => {
                let Some(session) = p.session_key.as_deref().and_then(|k| self.session(k)) else { return out };
                out.token_issued = Some(session.issued).filter(|t| *t > 0);
                // The calling user's permissions (a root's: everything), capped by the session
                // policies; without one, the federated user may do nothing.
                match session.federated_by.as_ref().and_then(|n| st.users.get(&ci(n))) {
                    Some(user) => {
                        attach(&mut out, &user.attached, &user.inline);
                        for g in
                            st.groups.values().filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&user.name)))
                        {
                            attach(&mut out, &g.attached, &g.inline);
                        }
                        out.boundary = user.boundary.as_ref().and_then(|b| Some((b.clone(), self.managed(&st, b)?)));
                    }
                    None if session.federated_by.is_none() => out.identity.push(("root".into(), policies::allow_all())),
                    None => {}
                }
                out.tags = session.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
                if let Some(policy) = &session.parsed_policy {
                    out.session.push(("session policy".into(), policy.clone()));
                }
                for arn in &session.policy_arns {
                    if let Some(policy) = self.managed(&st, arn) {
                        out.session.push((arn.clone(), policy));
                    }
                }
                if out.session.is_empty() {
                    out.session.push(("no session policy".into(), policies::allow_nothing()));
                }
            }
            PrincipalKind::AssumedRole => {
                let Some(session) = p.session_key.as_deref().and_then(|k| self.session(k)) else { return out };
                out.token_issued = Some(session.issued).filter(|t| *t > 0);
                out.source_identity = session.source_identity.clone();
                out.mfa_authenticated = session.mfa_authenticated;
                let Some(role) = session.role.as_ref().and_then(|(_, name)| st.roles.get(&ci(name))) else {
                    return out;
                };
                attach(&mut out, &role.attached, &role.inline);
                out.boundary = role.boundary.as_ref().and_then(|b| Some((b.clone(), self.managed(&st, b)?)));
                out.role_id = Some(role.id.clone());
                out.tags = role.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
                for t in &session.tags {
                    out.tags.retain(|(k, _)| !k.eq_ignore_ascii_case(&t.key));
                    out.tags.push((t.key.clone(), t.value.clone()));
                }
                if let Some(policy) = &session.parsed_policy {
                    out.session.push(("session policy".into(), policy.clone()));
                }
                for arn in &session.policy_arns {
                    if let Some(policy) = self.managed(&st, arn) {
                        out.session.push((arn.clone(), policy));
                    }
                }
            }
        }
        out
    }
}

/// The key of a user, group, role or instance profile: IAM names are unique and found
/// regardless of case.
pub(crate) fn ci(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// IAM's error codes.
pub(crate) fn no_such_entity(msg: impl Into<String>) -> AwsError {
    E::NoSuchEntityException.msg(msg)
}

pub(crate) fn already_exists(msg: impl Into<String>) -> AwsError {
    E::EntityAlreadyExistsException.msg(msg)
}

pub(crate) fn delete_conflict(msg: impl Into<String>) -> AwsError {
    E::DeleteConflictException.msg(msg)
}

pub(crate) fn limit_exceeded(msg: impl Into<String>) -> AwsError {
    E::LimitExceededException.msg(msg)
}

pub(crate) fn invalid_input(msg: impl Into<String>) -> AwsError {
    E::InvalidInputException.msg(msg)
}

pub(crate) fn validation(msg: impl Into<String>) -> AwsError {
    nuage_protocol::common::Common::ValidationError.msg(msg)
}

pub(crate) fn malformed_policy(e: nuage_policy::PolicyError) -> AwsError {
    E::MalformedPolicyDocumentException.msg(e.0)
}
