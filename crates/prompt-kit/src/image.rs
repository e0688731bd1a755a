//! Images in a conversation: the `image_url` content part as OpenAI clients send it
//! ([`ImageUrl`]), and the checks that make it something a server can be given
//! ([`ImageUrl::inline_image`]).
//!
//! The proxy takes images inline only, as `data:` URLs with base64 content
//! (`data:image/png;base64,iVBOR…`): it never downloads anything, so a request can
//! neither make it fetch an address of the client's choosing (server-side request
//! forgery) nor wait on a slow host. The base64 text is decoded to check it, and the
//! decoded bytes must begin as the declared format does ([`ImageFormat`]); what
//! goes to a server is the base64 text as the client sent it.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The `image_url` object of an `image_url` content part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// The image: a `data:` URL with base64 content (remote URLs are refused, see
    /// [`inline_image`](Self::inline_image)).
    pub url: String,
    /// OpenAI's resolution hint; absent or `auto` is the only value a local server
    /// can honour (the orchestrator refuses `low` and `high` by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<ImageDetail>,
}

/// OpenAI's `image_url.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageDetail {
    /// Let the model choose (OpenAI's default).
    Auto,
    /// A low-resolution view.
    Low,
    /// A high-resolution view.
    High,
}

impl ImageDetail {
    /// The value as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageDetail::Auto => "auto",
            ImageDetail::Low => "low",
            ImageDetail::High => "high",
        }
    }
}

/// An image format a backend may take, recognised by its media type and by the
/// first bytes of its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// `image/png`.
    Png,
    /// `image/jpeg` (also read from `image/jpg`).
    Jpeg,
    /// `image/gif`.
    Gif,
    /// `image/webp`.
    Webp,
}

impl ImageFormat {
    /// Every format, in the order error messages list them.
    pub const ALL: &'static [ImageFormat] = &[
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Webp,
    ];

    /// The format's media type.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// The format a media type names (ASCII case ignored); `None` for any other.
    pub fn from_media_type(media_type: &str) -> Option<ImageFormat> {
        let lower = media_type.to_ascii_lowercase();
        match lower.as_str() {
            "image/png" => Some(ImageFormat::Png),
            "image/jpeg" | "image/jpg" => Some(ImageFormat::Jpeg),
            "image/gif" => Some(ImageFormat::Gif),
            "image/webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }

    /// Whether `bytes` begin as a file of this format does.
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            ImageFormat::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            ImageFormat::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            ImageFormat::Gif => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
            ImageFormat::Webp => {
                bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP"
            }
        }
    }

    /// The media types of `formats`, as a list for a message (`image/png, image/jpeg`).
    pub fn list(formats: &[ImageFormat]) -> String {
        formats
            .iter()
            .map(|format| format.media_type())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.media_type())
    }
}

/// A checked inline image: its format and its base64 text (borrowed from the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlineImage<'a> {
    /// The declared format, which the decoded bytes match.
    pub format: ImageFormat,
    /// The base64 text (standard alphabet, padded), as the client sent it.
    pub base64: &'a str,
}

/// Why an `image_url.url` cannot be sent to a server. The messages say what to send
/// instead; the orchestrator puts the field's name in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageUrlError {
    /// An `http://` or `https://` address.
    #[error("is a remote URL; this proxy does not download images: send the image inline as a data URL (`data:image/png;base64,…`)")]
    Remote,
    /// Another scheme, or no URL at all.
    #[error("is not a data URL; send the image inline as `data:image/png;base64,…`")]
    NotDataUrl,
    /// A `data:` URL whose content is not base64 (`data:image/png,…`).
    #[error("is a data URL without `;base64`; send the image's bytes base64-encoded (`data:image/png;base64,…`)")]
    NotBase64,
    /// A media type that is not one of [`ImageFormat`].
    #[error("has the media type `{0}`; send one of {list}", list = ImageFormat::list(ImageFormat::ALL))]
    UnsupportedMediaType(String),
    /// The content is not standard, padded base64.
    #[error(
        "does not hold valid base64 ({0}); send the image's bytes in standard base64 with padding"
    )]
    InvalidBase64(String),
    /// The content is empty.
    #[error("holds no image data")]
    Empty,
    /// The decoded bytes are not an image of the declared format.
    #[error("says `{0}`, but its data is not a {0} image")]
    NotTheDeclaredFormat(ImageFormat),
}

impl ImageUrl {
    /// The image, checked: a `data:` URL (`data:<media type>[;parameters];base64,<data>`)
    /// of one of the [`ImageFormat`]s, whose data is valid standard base64 (with
    /// padding, as Python's `base64.b64encode` and JavaScript's `btoa` write it) and
    /// decodes to bytes that begin as that format does.
    pub fn inline_image(&self) -> Result<InlineImage<'_>, ImageUrlError> {
        let url = self.url.trim();
        let scheme = url.split_once(':').map(|(scheme, _)| scheme);
        let rest = match scheme {
            Some(scheme) if scheme.eq_ignore_ascii_case("data") => url.get(5..).unwrap_or(""),
            Some(scheme)
                if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
            {
                return Err(ImageUrlError::Remote)
            }
            _ => return Err(ImageUrlError::NotDataUrl),
        };
        let Some((header, data)) = rest.split_once(',') else {
            return Err(ImageUrlError::NotBase64);
        };
        let mut parameters = header.split(';');
        let media_type = parameters.next().unwrap_or("").trim();
        if !parameters.any(|parameter| parameter.trim().eq_ignore_ascii_case("base64")) {
            return Err(ImageUrlError::NotBase64);
        }
        let format = ImageFormat::from_media_type(media_type)
            .ok_or_else(|| ImageUrlError::UnsupportedMediaType(printable(media_type)))?;
        if data.is_empty() {
            return Err(ImageUrlError::Empty);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|error| ImageUrlError::InvalidBase64(error.to_string()))?;
        if !format.matches(&bytes) {
            return Err(ImageUrlError::NotTheDeclaredFormat(format));
        }
        Ok(InlineImage {
            format,
            base64: data,
        })
    }
}

/// `text` cut to 40 characters, for echoing a client's value back.
fn printable(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes of a PNG file, base64-encoded.
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUg==";

    fn url(url: &str) -> ImageUrl {
        ImageUrl {
            url: url.to_owned(),
            detail: None,
        }
    }

    #[test]
    fn a_base64_data_url_of_a_known_format_is_an_inline_image() {
        let image = url(&format!("data:image/png;base64,{PNG}"));
        assert_eq!(
            image.inline_image(),
            Ok(InlineImage {
                format: ImageFormat::Png,
                base64: PNG
            })
        );
        let upper = url(&format!("DATA:Image/PNG;charset=x;BASE64,{PNG}"));
        assert_eq!(
            upper.inline_image().map(|image| image.format),
            Ok(ImageFormat::Png)
        );
        let jpeg = url("data:image/jpg;base64,/9j/4AAQ");
        assert_eq!(
            jpeg.inline_image().map(|image| image.format),
            Ok(ImageFormat::Jpeg)
        );
    }

    #[test]
    fn remote_and_other_urls_are_refused_with_what_to_send() {
        for remote in ["https://example.com/cat.png", "HTTP://10.0.0.1/x"] {
            let error = url(remote).inline_image().unwrap_err();
            assert_eq!(error, ImageUrlError::Remote);
            assert!(error.to_string().contains("does not download images"));
            assert!(error.to_string().contains("data:image/png;base64"));
        }
        assert_eq!(
            url("file:///etc/passwd").inline_image(),
            Err(ImageUrlError::NotDataUrl)
        );
        assert_eq!(url(PNG).inline_image(), Err(ImageUrlError::NotDataUrl));
        assert_eq!(
            url("data:image/png,%89PNG").inline_image(),
            Err(ImageUrlError::NotBase64)
        );
    }

    #[test]
    fn media_type_base64_and_content_are_checked() {
        let svg_url = url("data:image/svg+xml;base64,PHN2Zz4=");
        let svg = svg_url.inline_image();
        assert_eq!(
            svg,
            Err(ImageUrlError::UnsupportedMediaType("image/svg+xml".into()))
        );
        assert!(svg
            .unwrap_err()
            .to_string()
            .contains("image/png, image/jpeg, image/gif, image/webp"));
        assert!(matches!(
            url("data:image/png;base64,iVBOR*w0K").inline_image(),
            Err(ImageUrlError::InvalidBase64(_))
        ));
        assert!(matches!(
            url("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg").inline_image(),
            Err(ImageUrlError::InvalidBase64(_))
        ));
        assert_eq!(
            url("data:image/png;base64,").inline_image(),
            Err(ImageUrlError::Empty)
        );
        // "hello" is valid base64 text, but not a PNG.
        assert_eq!(
            url("data:image/png;base64,aGVsbG8=").inline_image(),
            Err(ImageUrlError::NotTheDeclaredFormat(ImageFormat::Png))
        );
        assert_eq!(
            url(&format!("data:image/gif;base64,{PNG}")).inline_image(),
            Err(ImageUrlError::NotTheDeclaredFormat(ImageFormat::Gif))
        );
    }

    #[test]
    fn formats_know_their_signatures() {
        assert!(ImageFormat::Gif.matches(b"GIF89a..."));
        assert!(ImageFormat::Webp.matches(b"RIFF\x10\0\0\0WEBPVP8 "));
        assert!(!ImageFormat::Webp.matches(b"RIFF\x10\0\0\0WAVE"));
        for format in ImageFormat::ALL {
            assert_eq!(
                ImageFormat::from_media_type(format.media_type()),
                Some(*format)
            );
        }
        assert_eq!(ImageFormat::from_media_type("image/tiff"), None);
    }
}
