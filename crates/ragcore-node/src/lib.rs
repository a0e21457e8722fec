//! Node bindings (placeholder until the bindings land).
