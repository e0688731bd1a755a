//! Deserializers that take a struct only from a JSON object.
//!
//! serde's derived `Deserialize` for a struct also reads a JSON array, field by field
//! in declaration order, so `{"messages": [["user", "hi"]]}` would be read as a user
//! message: a body no client means, silently turned into something else. The request
//! types' struct-valued fields are read through these functions (`#[serde(with =
//! …)]` / `deserialize_with`), which ask for a map and hand it to the derived
//! implementation; an array there is then an `invalid type: sequence, expected a JSON
//! object` error naming the field (the server's `serde_path_to_error` path still
//! points at it).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Reads a `T` from a JSON object only.
struct ObjectSeed<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ObjectSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// Accepts a map, refuses everything else.
struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// A list whose items are read as objects.
struct ObjectsVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectsVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of JSON objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(ObjectSeed(PhantomData))? {
            items.push(item);
        }
        Ok(items)
    }
}

/// `T`, from a JSON object only.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    ObjectSeed(PhantomData).deserialize(deserializer)
}

/// `Option<T>`: `null` (or, with `#[serde(default)]`, a missing field) is `None`, else
/// a JSON object.
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(deserializer).map(|value| value.map(|Object(inner)| inner))
}

/// `Vec<T>`, from an array of JSON objects only.
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    deserializer.deserialize_seq(ObjectsVisitor(PhantomData))
}

/// `Option<Vec<T>>`: `null` (or a missing field) is `None`, else an array of JSON
/// objects.
pub fn optional_objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Option::<Objects<T>>::deserialize(deserializer).map(|value| value.map(|Objects(inner)| inner))
}

/// A `T` read from an object (for `Option<…>`, which serde reads itself, and for
/// hand-written visitors reading a field with `next_value`).
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer).map(Object)
    }
}

/// A list of `T`s read from objects (for `Option<…>`).
struct Objects<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Objects<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        objects(deserializer).map(Objects)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Shape {
        #[serde(deserialize_with = "super::objects")]
        points: Vec<Point>,
        #[serde(default, deserialize_with = "super::optional_object")]
        centre: Option<Point>,
        #[serde(default, deserialize_with = "super::optional_objects")]
        marks: Option<Vec<Point>>,
    }

    #[test]
    fn objects_read_and_arrays_do_not() {
        let shape: Shape = serde_json::from_value(json!({
            "points": [{"x": 1, "y": 2}], "centre": {"x": 0, "y": 0}, "marks": null
        }))
        .unwrap();
        assert_eq!(shape.points, vec![Point { x: 1, y: 2 }]);
        assert_eq!(shape.centre, Some(Point { x: 0, y: 0 }));
        assert_eq!(shape.marks, None);
        let missing: Shape = serde_json::from_value(json!({"points": []})).unwrap();
        assert_eq!((missing.centre, missing.marks), (None, None));

        // serde's derive alone would read each of these arrays as a Point.
        for body in [
            json!({"points": [[1, 2]]}),
            json!({"points": [], "centre": [0, 0]}),
            json!({"points": [], "marks": [[3, 4]]}),
        ] {
            let error = serde_json::from_value::<Shape>(body.clone()).unwrap_err();
            assert!(
                error.to_string().contains("expected a JSON object"),
                "{body}: {error}"
            );
        }
        assert!(
            serde_json::from_value::<Point>(json!([1, 2])).is_ok(),
            "the derive alone takes arrays"
        );
    }
}
