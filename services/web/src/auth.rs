//! API keys: `X-API-Key: jim_ak_<64 lowercase hex>`. Keys are stored only as a SHA-256 hash;
//! the infrastructure key from `JIM_INFRASTRUCTURE_API_KEY` is accepted as an administrator.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;

/// The request header that carries the key.
pub const HEADER: &str = "X-API-Key";
/// Every key starts with this.
pub const PREFIX: &str = "jim_ak_";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Role {
    /// Everything, including managing keys.
    Administrator,
    /// Reading only.
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Reader => "Reader",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Administrator" => Some(Role::Administrator),
            "Reader" => Some(Role::Reader),
            _ => None,
        }
    }
}

/// Who is calling, put into the request by [`require_api_key`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// `infrastructure` for the key from the environment, else the key's id.
    pub key: String,
}

impl Caller {
    /// Refuses callers who are not administrators.
    pub fn require_administrator(&self) -> Result<(), ApiError> {
        if self.role == Role::Administrator {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this needs an API key with the Administrator role",
            ))
        }
    }
}

/// An administrator, checked before the request body is read: a reader gets 403 whatever it
/// sent. Only for routes behind [`require_api_key`].
pub struct Administrator(pub Caller);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Administrator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let caller = parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::unauthorized(
                "missing_api_key",
                format!("send an API key in the `{HEADER}` header"),
            )
        })?;
        caller.require_administrator()?;
        Ok(Self(caller))
    }
}

/// True when `key` has the shape of a JIM API key.
pub fn is_well_formed(key: &str) -> bool {
    key.strip_prefix(PREFIX).is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The stored form of a key: lowercase hex SHA-256.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new random key.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// The part of a key that is safe to show: the prefix and eight hex characters.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(PREFIX.len() + 8).collect()
}

/// Compares two equal-length strings in time independent of where they differ.
fn same_hash(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Middleware for every route but health and the API reference: 401 without a valid key.
pub async fn require_api_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(value) = request.headers().get(HEADER) else {
        return Err(ApiError::unauthorized(
            "missing_api_key",
            format!("send an API key in the `{HEADER}` header"),
        ));
    };
    let key = value.to_str().unwrap_or_default().trim();
    let caller = authenticate(&state, key).await?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Checks a key as it was sent (header or sign-in cookie): its shape, then the infrastructure
/// key, then the stored hashes. The answer is the caller, or 401 saying why.
pub async fn authenticate(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    if !is_well_formed(key) {
        return Err(ApiError::unauthorized(
            "malformed_api_key",
            format!("an API key is `{PREFIX}` followed by 64 lowercase hexadecimal characters"),
        ));
    }
    let hash = hash_key(key);

    let caller = if state
        .infrastructure_key_hash
        .as_deref()
        .is_some_and(|known| same_hash(known, &hash))
    {
        Caller {
            role: Role::Administrator,
            key: "infrastructure".into(),
        }
    } else {
        let pool = state.pool().ok_or_else(ApiError::unavailable)?;
        let row: Option<(uuid::Uuid, String)> = sqlx::query_as(
            "UPDATE api_keys SET last_used_at = now() \
             WHERE key_hash = $1 AND revoked_at IS NULL \
               AND (expires_at IS NULL OR expires_at > now()) \
             RETURNING id, role",
        )
        .bind(&hash)
        .fetch_optional(pool)
        .await?;
        let Some((id, role)) = row else {
            return Err(ApiError::unauthorized(
                "invalid_api_key",
                "the API key is unknown, revoked or expired",
            ));
        };
        Caller {
            role: Role::parse(&role).unwrap_or(Role::Reader),
            key: id.to_string(),
        }
    };
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let first = generate_key();
        assert!(is_well_formed(&first), "{first}");
        assert_ne!(first, generate_key());
        assert_eq!(display_prefix(&first).len(), 15);
    }

    #[test]
    fn malformed_keys_are_recognised() {
        assert!(!is_well_formed("jim_ak_"));
        assert!(!is_well_formed(&format!("jim_ak_{}", "A".repeat(64))));
        assert!(!is_well_formed(&format!("jim_xx_{}", "a".repeat(64))));
        assert!(!is_well_formed(&format!("jim_ak_{}", "a".repeat(63))));
        assert!(is_well_formed(&format!("jim_ak_{}", "0".repeat(64))));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
