//! Every registered backend — built-in or downstream, a wire format or one with its own
//! I/O — does what its registration's capabilities say: it streams, counts tokens with
//! the server, asks it for the chat template and requires a model exactly when they
//! say so. The list comes from the registry, so a new backend plugin is checked
//! without an edit here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::{available_backends, find_backend};

// The downstream backend plugin, linked in beside the built-in ones.
use downstream_backend as _;

#[tokio::test]
async fn every_registered_backend_does_what_its_capabilities_say() {
    let names = available_backends();
    assert!(
        names.contains(&"llamacpp") && names.contains(&downstream_backend::ENDPOINT_TYPE),
        "{names:?}"
    );
    for name in names {
        let registered = find_backend(name).unwrap();
        conformance::wire::capabilities_hold(
            name,
            registered.backend.as_ref(),
            registered.registration.capabilities,
        )
        .await;
    }
}
