//! Native tool-call formats (to be written).
