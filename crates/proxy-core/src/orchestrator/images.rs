//! Image content parts: checked, and put where the backend's server reads them.
//!
//! A wrapper renders text. Before it does, each `image_url` part is replaced by the
//! backend's marker for that image (a text part, so the image keeps its place in the
//! conversation) or, for a server that places images itself, left out of the text;
//! the images' base64 text goes, in order, to the body builder
//! ([`BackendRequest::images`](crate::backend::BackendRequest::images)). A backend
//! whose capabilities take no images gets none: the request is refused with a 400
//! naming the part and the endpoint type. Nothing is ever dropped.

use crate::backend::wire::{ImageInput, ImagePlacement};
use crate::chat::{ChatMessage, ContentPart, MessageContent};
use crate::image::{ImageDetail, ImageFormat};

use std::borrow::Cow;

use super::error::ProxyError;
use super::replicas::Replica;
use super::target::ResolvedTarget;
use crate::backend::BackendError;

/// A request's images, taken out of its messages.
#[derive(Debug)]
pub(super) struct PromptImages {
    /// The messages with each image part replaced by its marker (or left out).
    pub(super) messages: Vec<ChatMessage>,
    /// Each image's base64 text, in order.
    pub(super) images: Vec<String>,
    /// How the prompt marks them.
    marking: Marking,
    /// Where each marker is: (message index, part index) in `messages`.
    marker_parts: Vec<(usize, usize)>,
}

/// How a prompt marks where each image goes, with the server's announced marker
/// already known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marking {
    /// Every image by the same text (llama.cpp's marker).
    Same(String),
    /// Image `n` by `{prefix}{n}{suffix}` (ollama's `[img-0]`).
    Numbered {
        prefix: &'static str,
        suffix: &'static str,
    },
    /// Not at all: the server puts the images before the prompt.
    Unmarked,
}

impl Marking {
    /// The marking for `placement` (for [`ImagePlacement::AnnouncedMarker`], its
    /// default until the server's own is known: [`PromptImages::use_marker`]).
    fn new(placement: ImagePlacement) -> Self {
        match placement {
            ImagePlacement::Marker(marker)
            | ImagePlacement::AnnouncedMarker {
                default: marker, ..
            } => Marking::Same(marker.to_owned()),
            ImagePlacement::NumberedMarker { prefix, suffix } => {
                Marking::Numbered { prefix, suffix }
            }
            ImagePlacement::BeforePrompt => Marking::Unmarked,
        }
    }

    /// The text standing for image `index` (from 0); `None` when unmarked.
    fn marker(&self, index: usize) -> Option<String> {
        match self {
            Marking::Same(marker) => Some(marker.clone()),
            Marking::Numbered { prefix, suffix } => Some(format!("{prefix}{index}{suffix}")),
            Marking::Unmarked => None,
        }
    }
}

/// The request's images checked and taken out of `messages` for `target`'s backend
/// (see [`take_images`]), then, where the server names its marker, marked with the
/// one it names; `Ok(None)` when no message has an image part.
pub(super) async fn prompt_images(
    http: &reqwest::Client,
    target: &ResolvedTarget,
    messages: &[ChatMessage],
) -> Result<Option<PromptImages>, ProxyError> {
    if !has_images(messages) {
        return Ok(None);
    }
    let input = target.backend().registration.capabilities.images.as_ref();
    let Some(mut images) = take_images(messages, target.endpoint_type(), input)? else {
        return Ok(None);
    };
    if let Some(input) = input {
        if let Some(marker) = announced_image_marker(http, target, input).await? {
            images.use_marker(marker);
        }
    }
    Ok(Some(images))
}

/// The image marker `target`'s server announces, for a backend whose images go where
/// the server says ([`ImagePlacement::AnnouncedMarker`]; llama.cpp's changes at each
/// server start, so it is asked per request that carries images); `None` for other
/// placements, or when the server names none or lacks the route (the placement's
/// default then). Errors: the server cannot be reached.
async fn announced_image_marker(
    http: &reqwest::Client,
    target: &ResolvedTarget,
    input: &ImageInput,
) -> Result<Option<String>, ProxyError> {
    let ImagePlacement::AnnouncedMarker { path, default, .. } = input.placement else {
        return Ok(None);
    };
    let replica = target.replicas().preferred();
    match target
        .backend()
        .backend
        .image_marker(http, replica.endpoint(), replica.auth())
        .await
    {
        Ok(marker) => Ok(marker),
        Err(
            error @ (BackendError::Connection { .. }
            | BackendError::Timeout { .. }
            | BackendError::InvalidEndpoint { .. }
            | BackendError::InvalidAuth { .. }),
        ) => Err(error.into()),
        Err(error) => {
            tracing::warn!(
                "the server did not name its image marker at {path} ({error}); marking images with {default}"
            );
            Ok(None)
        }
    }
}

/// The marker text `prompt` marks images with where the backend's server announces
/// it (llama.cpp's, new at each server start), for a model with several replicas:
/// the server a call goes to may announce another one. `None`: nothing to re-mark.
pub(super) fn announced_marker(target: &ResolvedTarget, images: &PromptImages) -> Option<String> {
    let input = target.backend().registration.capabilities.images?;
    match (&images.marking, input.placement) {
        (Marking::Same(marker), ImagePlacement::AnnouncedMarker { .. })
            if target.replicas().len() > 1 && !images.images.is_empty() =>
        {
            Some(marker.clone())
        }
        _ => None,
    }
}

/// `prompt`, whose images are marked with `used`, marked with the marker the server
/// at `replica` announces (the placement's default when it names none or lacks the
/// route). Errors: that server cannot be reached (the call fails on it, and may go
/// to another replica).
pub(super) async fn remark<'a>(
    http: &reqwest::Client,
    target: &ResolvedTarget,
    replica: &Replica,
    prompt: &'a str,
    used: &str,
) -> Result<Cow<'a, str>, BackendError> {
    let Some(ImageInput {
        placement: ImagePlacement::AnnouncedMarker { default, .. },
        ..
    }) = target.backend().registration.capabilities.images
    else {
        return Ok(Cow::Borrowed(prompt));
    };
    let marker = match target
        .backend()
        .backend
        .image_marker(http, replica.endpoint(), replica.auth())
        .await
    {
        Ok(marker) => marker.unwrap_or_else(|| default.to_owned()),
        Err(
            error @ (BackendError::Connection { .. }
            | BackendError::Timeout { .. }
            | BackendError::InvalidEndpoint { .. }
            | BackendError::InvalidAuth { .. }),
        ) => return Err(error),
        Err(_) => default.to_owned(),
    };
    Ok(if marker == used {
        Cow::Borrowed(prompt)
    } else {
        Cow::Owned(prompt.replace(used, &marker))
    })
}

/// Whether any message has an image part.
fn has_images(messages: &[ChatMessage]) -> bool {
    messages.iter().any(|message| {
        message
            .content
            .as_ref()
            .is_some_and(|content| content.images().next().is_some())
    })
}

/// The request's images checked and taken out of `messages` for `endpoint_type`,
/// whose backend takes images as `input` says (`None`: it takes none); `Ok(None)`
/// when no message has an image part (nothing is copied).
///
/// Errors (400s naming the field): a backend that takes no images; a `detail` other
/// than `auto`; a URL that is not a base64 data URL of a format the server decodes
/// (remote URLs: the proxy downloads nothing); more images than the server takes.
fn take_images(
    messages: &[ChatMessage],
    endpoint_type: &str,
    input: Option<&ImageInput>,
) -> Result<Option<PromptImages>, ProxyError> {
    if !has_images(messages) {
        return Ok(None);
    }
    let marking = input.map_or(Marking::Unmarked, |input| Marking::new(input.placement));
    let mut images = Vec::new();
    let mut marker_parts = Vec::new();
    let mut rewritten = messages.to_vec();
    for (i, message) in rewritten.iter_mut().enumerate() {
        let Some(MessageContent::Parts(parts)) = message.content.as_mut() else {
            continue;
        };
        let mut kept = Vec::with_capacity(parts.len());
        for (j, part) in std::mem::take(parts).into_iter().enumerate() {
            let image_url = match part {
                ContentPart::ImageUrl { image_url } => image_url,
                text => {
                    kept.push(text);
                    continue;
                }
            };
            let field = format!("messages[{i}].content[{j}]");
            let Some(input) = input else {
                return Err(ProxyError::invalid(format!(
                    "`{field}` is an image, and the `{endpoint_type}` endpoint type cannot take images; send text only, or serve the model through an endpoint type that takes images (`chat-completion-proxy backends` lists them)"
                )));
            };
            if let Some(detail @ (ImageDetail::Low | ImageDetail::High)) = image_url.detail {
                return Err(ProxyError::invalid(format!(
                    "`{field}.image_url.detail` is `{}`; the servers behind this proxy have no resolution setting, so send `auto` or leave it out",
                    detail.as_str()
                )));
            }
            let image = image_url
                .inline_image()
                .map_err(|error| ProxyError::invalid(format!("`{field}.image_url.url` {error}")))?;
            if !input.formats.contains(&image.format) {
                return Err(ProxyError::invalid(format!(
                    "`{field}.image_url.url` is {}, which the `{endpoint_type}` endpoint type's server does not decode; send one of {}",
                    image.format,
                    ImageFormat::list(input.formats)
                )));
            }
            if let Some(marker) = marking.marker(images.len()) {
                marker_parts.push((i, kept.len()));
                kept.push(ContentPart::text(marker));
            }
            images.push(image.base64.to_owned());
        }
        *parts = kept;
    }
    if let Some(max) = input.and_then(|input| input.max_images) {
        if images.len() > max {
            return Err(ProxyError::invalid(format!(
                "`messages` hold {} images; the `{endpoint_type}` endpoint type takes at most {max} per request (its server ignores the rest), so send fewer",
                images.len()
            )));
        }
    }
    Ok(Some(PromptImages {
        messages: rewritten,
        images,
        marking,
        marker_parts,
    }))
}

impl PromptImages {
    /// Marks every image with `marker`, the one the server named (only where every
    /// image has the same marker).
    fn use_marker(&mut self, marker: String) {
        if !matches!(self.marking, Marking::Same(_)) {
            return;
        }
        for &(i, j) in &self.marker_parts {
            let part =
                self.messages
                    .get_mut(i)
                    .and_then(|message| match message.content.as_mut() {
                        Some(MessageContent::Parts(parts)) => parts.get_mut(j),
                        _ => None,
                    });
            if let Some(part) = part {
                *part = ContentPart::text(marker.clone());
            }
        }
        self.marking = Marking::Same(marker);
    }

    /// Checks that the rendered `prompt` marks each image exactly once: a marker that
    /// was already in the conversation's text would move every image after it, and a
    /// wrapper that leaves a message out would lose its images.
    pub(super) fn check_prompt(
        &self,
        prompt: &str,
        endpoint_type: &str,
        wrapper: &str,
    ) -> Result<(), ProxyError> {
        let (shown, marker_text) = match &self.marking {
            Marking::Unmarked => return Ok(()),
            Marking::Same(marker) => (prompt.matches(marker.as_str()).count(), marker.clone()),
            &Marking::Numbered { prefix, suffix } => {
                let all = prompt.matches(prefix).count();
                let each_once = (0..self.images.len()).all(|index| {
                    prompt
                        .matches(format!("{prefix}{index}{suffix}").as_str())
                        .count()
                        == 1
                });
                let shown = if each_once {
                    all
                } else {
                    all.max(self.images.len() + 1)
                };
                (shown, format!("{prefix}N{suffix}"))
            }
        };
        let expected = self.images.len();
        if shown > expected {
            return Err(ProxyError::invalid(format!(
                "the conversation's text contains `{marker_text}`, which the `{endpoint_type}` endpoint type's server reads as an image's place; remove it from the text"
            )));
        }
        if shown < expected {
            return Err(ProxyError::invalid(format!(
                "the `{wrapper}` wrapper's prompt shows {shown} of the {expected} images (a message holding one is not rendered); send the images in messages it renders, or use another wrapper"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PNG: &str = "iVBORw0KGgoAAAANSUhEUg==";

    const MARKER: ImageInput = ImageInput {
        placement: ImagePlacement::Marker("<__media__>"),
        formats: &[ImageFormat::Png, ImageFormat::Jpeg],
        max_images: None,
    };

    const NUMBERED: ImageInput = ImageInput {
        placement: ImagePlacement::NumberedMarker {
            prefix: "[img-",
            suffix: "]",
        },
        formats: ImageFormat::ALL,
        max_images: Some(2),
    };

    fn messages(content: serde_json::Value) -> Vec<ChatMessage> {
        serde_json::from_value(json!([
            {"role": "system", "content": "You look at pictures."},
            {"role": "user", "content": content}
        ]))
        .unwrap()
    }

    fn image(url: &str) -> serde_json::Value {
        json!({"type": "image_url", "image_url": {"url": url}})
    }

    fn png() -> String {
        format!("data:image/png;base64,{PNG}")
    }

    fn refusal(
        content: serde_json::Value,
        endpoint_type: &str,
        input: Option<&ImageInput>,
    ) -> String {
        take_images(&messages(content), endpoint_type, input)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn text_only_requests_are_left_alone() {
        let plain = messages(json!([{"type": "text", "text": "hi"}]));
        assert!(take_images(&plain, "vllm", None).unwrap().is_none());
    }

    #[test]
    fn each_image_becomes_its_marker_in_place_and_its_base64_in_order() {
        let content = json!([{"type": "text", "text": "Compare"}, image(&png()),
            {"type": "text", "text": "with"}, image("data:image/jpeg;base64,/9j/4AAQ")]);
        let taken = take_images(&messages(content.clone()), "llamacpp", Some(&MARKER))
            .unwrap()
            .unwrap();
        assert_eq!(taken.images, [PNG, "/9j/4AAQ"]);
        assert_eq!(
            taken.messages[1].text().as_deref(),
            Some("Compare\n<__media__>\nwith\n<__media__>")
        );
        assert_eq!(taken.messages[0], messages(content.clone())[0]);

        let numbered = take_images(&messages(content.clone()), "ollama", Some(&NUMBERED))
            .unwrap()
            .unwrap();
        assert_eq!(
            numbered.messages[1].text().as_deref(),
            Some("Compare\n[img-0]\nwith\n[img-1]")
        );

        let before = ImageInput {
            placement: ImagePlacement::BeforePrompt,
            ..MARKER
        };
        let front = take_images(&messages(content), "koboldcpp", Some(&before))
            .unwrap()
            .unwrap();
        assert_eq!(front.messages[1].text().as_deref(), Some("Compare\nwith"));
        assert_eq!(front.images.len(), 2);
    }

    #[test]
    fn an_announced_marker_is_used_and_its_default_when_none_was_named() {
        const ANNOUNCED: ImageInput = ImageInput {
            placement: ImagePlacement::AnnouncedMarker {
                path: "/props",
                field: "media_marker",
                default: "<__media__>",
            },
            formats: &[ImageFormat::Png],
            max_images: None,
        };
        let content = json!([{"type": "text", "text": "Look"}, image(&png())]);
        let mut taken = take_images(&messages(content.clone()), "llamacpp", Some(&ANNOUNCED))
            .unwrap()
            .unwrap();
        taken.use_marker("<__media_7f3a__>".to_owned());
        assert_eq!(
            taken.messages[1].text().as_deref(),
            Some("Look\n<__media_7f3a__>")
        );
        assert!(taken
            .check_prompt("Look\n<__media_7f3a__>", "llamacpp", "chatml")
            .is_ok());
        assert!(taken
            .check_prompt("Look\n<__media__>", "llamacpp", "chatml")
            .is_err());
        let default = take_images(&messages(content), "llamacpp", Some(&ANNOUNCED))
            .unwrap()
            .unwrap();
        assert_eq!(
            default.messages[1].text().as_deref(),
            Some("Look\n<__media__>")
        );
    }

    #[test]
    fn a_backend_without_images_refuses_naming_the_part_and_itself() {
        let message = refusal(
            json!([{"type": "text", "text": "hi"}, image(&png())]),
            "vllm",
            None,
        );
        assert!(
            message.contains("`messages[1].content[1]` is an image"),
            "{message}"
        );
        assert!(
            message.contains("the `vllm` endpoint type cannot take images"),
            "{message}"
        );
    }

    #[test]
    fn bad_images_are_refused_naming_the_field() {
        let remote = refusal(
            json!([image("https://example.com/cat.png")]),
            "llamacpp",
            Some(&MARKER),
        );
        assert!(
            remote.contains("`messages[1].content[0].image_url.url` is a remote URL"),
            "{remote}"
        );
        assert!(remote.contains("does not download images"), "{remote}");
        let broken = refusal(
            json!([image("data:image/png;base64,@@@@")]),
            "llamacpp",
            Some(&MARKER),
        );
        assert!(
            broken.contains("`messages[1].content[0].image_url.url` does not hold valid base64"),
            "{broken}"
        );
        let webp = refusal(
            json!([image("data:image/webp;base64,UklGRhAAAABXRUJQVlA4IA==")]),
            "llamacpp",
            Some(&MARKER),
        );
        assert!(
            webp.contains(
                "is image/webp, which the `llamacpp` endpoint type's server does not decode"
            ),
            "{webp}"
        );
        assert!(webp.contains("image/png, image/jpeg"), "{webp}");
        let detail = refusal(
            json!([{"type": "image_url", "image_url": {"url": png(), "detail": "high"}}]),
            "llamacpp",
            Some(&MARKER),
        );
        assert!(
            detail.contains("`messages[1].content[0].image_url.detail` is `high`"),
            "{detail}"
        );
        let auto =
            messages(json!([{"type": "image_url", "image_url": {"url": png(), "detail": "auto"}}]));
        assert!(take_images(&auto, "llamacpp", Some(&MARKER)).is_ok());
        let many = refusal(
            json!([image(&png()), image(&png()), image(&png())]),
            "ollama",
            Some(&NUMBERED),
        );
        assert!(
            many.contains("hold 3 images; the `ollama` endpoint type takes at most 2"),
            "{many}"
        );
    }

    #[test]
    fn the_prompt_must_mark_each_image_once() {
        let content = json!([{"type": "text", "text": "Look"}, image(&png())]);
        let taken = take_images(&messages(content.clone()), "llamacpp", Some(&MARKER))
            .unwrap()
            .unwrap();
        assert!(taken
            .check_prompt("Look\n<__media__>", "llamacpp", "chatml")
            .is_ok());
        let twice = taken
            .check_prompt("<__media__> Look\n<__media__>", "llamacpp", "chatml")
            .unwrap_err()
            .to_string();
        assert!(twice.contains("contains `<__media__>`"), "{twice}");
        let dropped = taken
            .check_prompt("Look", "llamacpp", "simple-summary")
            .unwrap_err()
            .to_string();
        assert!(
            dropped.contains("`simple-summary` wrapper's prompt shows 0 of the 1 images"),
            "{dropped}"
        );
        let numbered = take_images(&messages(content), "ollama", Some(&NUMBERED))
            .unwrap()
            .unwrap();
        assert!(numbered
            .check_prompt("Look\n[img-0]", "ollama", "chatml")
            .is_ok());
        assert!(numbered
            .check_prompt("Look\n[img-0] [img-1]", "ollama", "chatml")
            .unwrap_err()
            .to_string()
            .contains("contains `[img-N]`"));
        assert!(numbered
            .check_prompt("[img-0] Look\n[img-0]", "ollama", "chatml")
            .is_err());
    }
}
