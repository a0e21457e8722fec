//! Reading columns: a value that does not convert is a [`Error::Storage`] naming the column,
//! never a retryable error (only lost connections are, see [`super::map_err`]).

use crate::error::{Error, Result};

/// Column `idx` of `row` as `T`.
pub(crate) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    idx: usize,
) -> Result<T> {
    row.try_get(idx).map_err(|e| {
        let name = row.columns().get(idx).map(|c| c.name()).unwrap_or("?");
        Error::Storage(format!("postgres column {idx} ({name}): {e}"))
    })
}
