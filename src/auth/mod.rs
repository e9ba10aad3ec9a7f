//! Who you are and what you may do: passwords, two-factor sign-in, sessions, API tokens,
//! throttling and the access middleware.

pub mod account;
pub mod api;
pub mod guard;
pub mod password;
pub mod service;
pub mod session;
pub mod session_cache;
pub mod throttle;
pub mod tokens;
pub mod totp;
pub mod web;
