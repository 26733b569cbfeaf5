//! Paging: `page` (from 1) and `pageSize` (1 to 100, default 25) in the query string, and the
//! envelope every paged answer uses.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// The largest page a caller may ask for.
pub const MAX_PAGE_SIZE: i64 = 100;
/// The page size when the caller names none.
pub const DEFAULT_PAGE_SIZE: i64 = 25;

/// The paging parameters of a list route.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page to return, from 1 (default 1).
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<i64>,
}

/// Checked paging parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub page_size: i64,
}

impl PageQuery {
    /// Checks the parameters: 400 naming `page` or `pageSize` when out of range.
    pub fn checked(self) -> Result<Paging, ApiError> {
        let page = self.page.unwrap_or(1);
        if page < 1 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_page",
                format!("`page` must be 1 or more, not {page}"),
            ));
        }
        let page_size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_page_size",
                format!("`pageSize` must be between 1 and {MAX_PAGE_SIZE}, not {page_size}"),
            ));
        }
        Ok(Paging { page, page_size })
    }
}

impl Paging {
    /// The SQL `OFFSET` of this page.
    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// Wraps one page of items with the counts.
    pub fn envelope<T>(self, items: Vec<T>, total_count: i64) -> Page<T> {
        let total_pages = (total_count + self.page_size - 1) / self.page_size;
        Page {
            items,
            total_count,
            page: self.page,
            page_size: self.page_size,
            total_pages,
            has_next_page: self.page < total_pages,
            has_previous_page: self.page > 1,
        }
    }
}

/// One page of a list. `totalPages` is 0 when there are no items; a page past the last one
/// has no items.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_count: i64,
    pub page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<Paging, ApiError> {
        PageQuery { page, page_size }.checked()
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(
            paging(None, None).unwrap(),
            Paging {
                page: 1,
                page_size: 25
            }
        );
        assert_eq!(paging(None, Some(0)).unwrap_err().code, "invalid_page_size");
        assert_eq!(
            paging(None, Some(101)).unwrap_err().code,
            "invalid_page_size"
        );
        assert_eq!(paging(Some(0), None).unwrap_err().code, "invalid_page");
        assert!(paging(Some(3), Some(100)).is_ok());
    }

    #[test]
    fn envelope_counts_pages() {
        let paging = Paging {
            page: 2,
            page_size: 10,
        };
        let page = paging.envelope(vec![1; 10], 21);
        assert_eq!(
            (page.total_pages, page.has_next_page, page.has_previous_page),
            (3, true, true)
        );
        assert_eq!(paging.offset(), 10);
        let empty = paging.envelope(Vec::<i32>::new(), 0);
        assert_eq!((empty.total_pages, empty.has_next_page), (0, false));
    }
}
