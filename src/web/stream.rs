//! A response body written piece by piece on a pooled connection, for downloads whose size
//! grows with the data (the evaluation return): the writer runs in one read transaction on
//! the blocking pool and hands each piece over a channel of two, so the service holds a
//! couple of pieces, not the file, and a slow client slows the writer instead of growing
//! memory. A client that goes away stops the writer at its next piece. A failure after the
//! first piece ends the response early (the connection is closed, not completed), so a cut
//! file is never taken for a whole one.

use actix_web::web::Bytes;
use futures_util::Stream;

use crate::db::{Db, DbConn};
use crate::error::AppError;

/// What writes the body: reads in the transaction it is given and hands `out` each piece.
pub type Writer = Box<
    dyn FnOnce(&mut DbConn, &mut dyn FnMut(String) -> Result<(), AppError>) -> Result<(), AppError>
        + Send,
>;

/// The body `write` produces, starting with `first` (a byte-order mark, say).
pub fn read_streamed(
    db: &Db,
    first: &'static str,
    write: Writer,
) -> impl Stream<Item = Result<Bytes, AppError>> + use<> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, AppError>>(2);
    let db = db.clone();
    actix_web::rt::spawn(async move {
        let pieces = tx.clone();
        let written = db
            .read(move |c| {
                let mut out = |piece: String| {
                    pieces
                        .blocking_send(Ok(Bytes::from(piece)))
                        .map_err(|_| AppError::Unavailable("the download was abandoned".into()))
                };
                if !first.is_empty() {
                    out(first.to_owned())?;
                }
                write(c, &mut out)
            })
            .await;
        if let Err(e) = written {
            log::warn!("a streamed download stopped: {e}");
            let _ = tx.send(Err(e)).await;
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}
