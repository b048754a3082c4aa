//! `AuditRecord`: what the queue keeps about a resolved ticket, and `Correction`, what it
//! keeps about a ticket moved to another queue by a specialist.

use serde::{Deserialize, Serialize};

/// Who resolved a ticket, when, how, and after how many deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub ticket_id: u64,
    pub inquiry_id: String,
    pub queue: String,
    pub holder: String,
    pub outcome: String,
    pub resolved_ms: i64,
    pub deliveries: u32,
}

/// A ticket moved from the queue it was routed to into another one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// Increasing in the order corrections were made.
    pub id: u64,
    pub ticket_id: u64,
    pub inquiry_id: String,
    pub from_queue: String,
    pub to_queue: String,
    pub holder: String,
    pub reason: String,
    pub corrected_ms: i64,
}
