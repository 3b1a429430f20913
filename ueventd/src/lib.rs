//! ueventd: ueventd.rc parser, uevent handling, device nodes, by-name links, coldboot, firmware and modalias loading
