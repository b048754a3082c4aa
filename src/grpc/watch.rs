//! WatchInquiry's stream: the inquiry's state at once, then again each time it differs from
//! the last one sent. It looks again when this replica changes a ticket and at least every
//! [`WATCH_RECHECK`] (for changes made by other replicas). It ends when the client cancels,
//! with the error when the inquiry can no longer be read, and with UNAVAILABLE when the server
//! shuts down.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::watch;
use tonic::Status;

use super::ServiceError;
use super::app::App;
use super::convert::inquiry_state_to_proto;
use crate::helpdesk::{Caller, InquiryState, WATCH_RECHECK};
use crate::proto::v1 as pb;

/// The stream WatchInquiry answers with.
pub type InquiryStream = Pin<Box<dyn Stream<Item = Result<pb::InquiryState, Status>> + Send>>;

/// What a watch holds between two items.
struct Watch {
    app: Arc<App>,
    caller: Caller,
    inquiry_id: String,
    changes: watch::Receiver<u64>,
    /// The state last sent; `None` before the first.
    sent: Option<InquiryState>,
    /// The state read when the call came, sent first.
    first: Option<InquiryState>,
    ended: bool,
}

/// The watch of `inquiry_id` for `caller`, whose state was `first` when the call came.
pub fn watch_inquiry(
    app: Arc<App>,
    caller: Caller,
    inquiry_id: String,
    first: InquiryState,
) -> InquiryStream {
    let watch = Watch {
        changes: app.helpdesk.changes(),
        app,
        caller,
        inquiry_id,
        sent: None,
        first: Some(first),
        ended: false,
    };
    Box::pin(futures_util::stream::unfold(watch, next_item))
}

/// The next state to send, or the error that ends the watch.
async fn next_item(mut watch: Watch) -> Option<(Result<pb::InquiryState, Status>, Watch)> {
    if watch.ended {
        return None;
    }
    if let Some(first) = watch.first.take() {
        let item = inquiry_state_to_proto(&first);
        watch.sent = Some(first);
        return Some((Ok(item), watch));
    }
    loop {
        tokio::select! {
            changed = watch.changes.changed() => {
                if changed.is_err() {
                    return None;
                }
            }
            () = tokio::time::sleep(WATCH_RECHECK) => {}
            () = watch.app.shutdown_begun() => {
                watch.ended = true;
                let error = ServiceError::ShuttingDown("the server is shutting down".into());
                return Some((Err(error.into()), watch));
            }
        }
        match watch
            .app
            .helpdesk
            .inquiry(&watch.caller, &watch.inquiry_id)
            .await
        {
            Ok(state) if watch.sent.as_ref() == Some(&state) => {}
            Ok(state) => {
                let item = inquiry_state_to_proto(&state);
                watch.sent = Some(state);
                return Some((Ok(item), watch));
            }
            Err(error) => {
                watch.ended = true;
                return Some((Err(ServiceError::from(error).into()), watch));
            }
        }
    }
}
