//! The guest's static multi-call PID 1: first-stage init and the applets it also serves as
