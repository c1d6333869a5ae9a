//! Reading the audit log: a page for the dashboard and the streamed export. A filter value
//! holding a NUL matches no row: PostgreSQL text never holds one (and refuses such a parameter).

use futures_util::{Stream, StreamExt};

use crate::db::DbError;
use crate::db::audit::{self, Entry, Filter};
use crate::state::AppState;

/// Whether a filter can match any row at all.
fn can_match(f: &Filter) -> bool {
    ![&f.actor, &f.action, &f.target]
        .into_iter()
        .flatten()
        .any(|v| v.contains('\0'))
}

/// Newest first, at most `f.limit` entries, and the cursor of the next page (`None` on the last).
pub async fn page(state: &AppState, f: &Filter) -> Result<(Vec<Entry>, Option<i64>), DbError> {
    if !can_match(f) {
        return Ok((Vec::new(), None));
    }
    let entries = audit::list(&state.db, f).await?;
    let next_before = (entries.len() as i64 == f.limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok((entries, next_before))
}

/// The matching rows oldest first, chunk by chunk (never the whole export in memory).
pub fn export(
    state: &AppState,
    f: Filter,
) -> impl Stream<Item = Result<Vec<Entry>, DbError>> + Send + 'static {
    if can_match(&f) {
        audit::export(state.db.clone(), f).boxed()
    } else {
        futures_util::stream::empty().boxed()
    }
}
