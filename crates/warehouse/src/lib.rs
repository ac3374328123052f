//! The Redshift-dialect SQL warehouse: tables kept durably, queried with DataFusion, served over the PostgreSQL wire protocol.

pub mod copy;
pub mod dialect;
pub mod engine;
pub mod error;
pub mod external;
pub mod functions;
pub mod grammar;
pub mod optimizer;
pub mod pg_catalog;
pub mod privileges;
pub mod session;
pub mod show;
pub mod state;
pub mod stored;
pub mod super_functions;
pub mod super_type;
pub mod system;
pub mod table_attributes;
pub mod text;
pub mod trailing_blanks;
pub mod types;
pub mod unload;
pub mod wire;

pub use datafusion;
pub use engine::{copy_database, password_md5, Warehouse};
pub use error::{SqlError, SqlResult};
pub use external::{Admission, ClusterFacts, Credentials, External, ObjectInfo, ObjectStore};
pub use privileges::check_password;
pub use wire::serve;
