//! S3 Select's errors: each with the code of S3's "SELECT Object Content error codes" table.
//! All are client errors with status 400, except where noted.

#[derive(Debug, Clone, PartialEq)]
pub struct SelectError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

pub type Result<T> = std::result::Result<T, SelectError>;

impl SelectError {
    pub fn new(code: &'static str, message: impl Into<String>) -> SelectError {
        SelectError { code, message: message.into(), status: 400 }
    }
    pub fn internal(message: impl Into<String>) -> SelectError {
        SelectError { code: "InternalError", message: message.into(), status: 500 }
    }
}

impl std::fmt::Display for SelectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

pub(crate) fn err<T>(code: &'static str, message: impl Into<String>) -> Result<T> {
    Err(SelectError::new(code, message))
}
