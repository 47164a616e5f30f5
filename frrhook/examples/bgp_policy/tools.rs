//! The script authors' tools (`frrhook::cli`), mounted as subcommands of the daemon:
//! `hooks list|show|template`, `check`, `run`, `stubs`, and `shadow`, which runs a
//! candidate route-map beside the attached one over this daemon's RIB.
//!
//! ```text
//! cargo run --example bgp_policy -- hooks list
//! cargo run --example bgp_policy -- shadow --candidate my_policy.lua
//! ```

use std::fmt;
use std::process::ExitCode;

use frrhook::cli::{Command, Shadow, Tool};

use crate::daemon::{self, Options};
use crate::hooks::RouteMatchArgs;
use crate::mrt;
use crate::route::{Peer, Route};

/// Runs one tool against the daemon's runtime (the shipped attachments).
pub fn run(opts: &Options, cmd: &Command) -> ExitCode {
    let rt = match daemon::runtime(opts) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bgp_policy: error: {e}");
            return ExitCode::from(2);
        }
    };
    Tool::new(&rt)
        .shadow_inputs(RouteMatchArgs::hook(), |shadow: &mut Shadow| {
            // Every route of the RIB, as the policy would see it.
            let rib = mrt::read_rib(&opts.rib, &mut |_| {}).map_err(|e| e.to_string())?;
            for route in &rib.routes {
                let peer = &rib.peers[route.peer as usize];
                let input = Input(route, peer);
                if !shadow.compare(input, (&route.prefix, &route.attributes, peer)) {
                    break;
                }
            }
            Ok(())
        })
        .run(cmd)
}

/// How the shadow report names a route: `1.0.20.0/23 from 4.69.184.193 (AS3356)`
/// (formatted only for the routes it shows).
struct Input<'a>(&'a Route, &'a Peer);

impl fmt::Display for Input<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Input(route, peer) = self;
        write!(
            f,
            "{} from {} (AS{})",
            route.prefix, peer.remote_address.string, peer.remote_as
        )
    }
}
