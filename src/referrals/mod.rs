//! Referrals: a person comes to the MHTR pathway from the point of arrest (Liaison and
//! Diversion) or from probation, and moves through screening, assessment, consent, sentence
//! and treatment. The state machine is in `state`, the checked input in `forms`, the rules
//! and the one scope chokepoint in `service` and `model`.

pub mod api;
pub mod codes;
pub mod demo;
pub mod forms;
pub mod model;
pub mod service;
pub mod state;
pub mod views;
pub mod web;

use crate::auth::guard::{ApiUser, CurrentUser};
use model::Viewer;

impl From<&CurrentUser> for Viewer {
    fn from(u: &CurrentUser) -> Self {
        Viewer {
            user_id: u.user.id.clone(),
            name: u.user.name.clone(),
            role: u.user.role,
            area_ids: u.area_ids.clone(),
            service_wide: u.user.service_wide,
            police_cleared: u.user.police_cleared(crate::clock::today()),
        }
    }
}

impl From<&ApiUser> for Viewer {
    fn from(u: &ApiUser) -> Self {
        Viewer {
            user_id: u.user.id.clone(),
            name: u.user.name.clone(),
            role: u.user.role,
            area_ids: u.area_ids.clone(),
            service_wide: u.user.service_wide,
            police_cleared: u.user.police_cleared(crate::clock::today()),
        }
    }
}
