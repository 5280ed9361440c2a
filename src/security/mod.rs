//! Credentials, below every feature so that `AppState` can hold them: JWTs (`tokens`), password
//! hashing and validation (`passwords`), refresh-token records (`sessions`) and the login rate
//! limit (`limiter`). The routes that use them live in `auth/`.

pub mod limiter;
pub mod passwords;
pub mod sessions;
pub mod signing;
pub mod tokens;

pub use limiter::LoginLimiter;
