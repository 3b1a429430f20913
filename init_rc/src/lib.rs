//! The second stage: an AOSP init language (.rc) interpreter with triggers, actions, services and properties
