// Command netcert-runc-capfilter is an OCI runtime wrapper around runc that
// drops, from the container spec, every capability the wrapper itself does
// not hold in its capability bounding set, and then execs the real runc.
//
// Why: on some VMs the bounding set of the whole system lacks a capability
// (for example CAP_SYS_RESOURCE). Docker asks runc for every known
// capability on `docker run --privileged` and `docker exec --privileged`, and
// runc then fails with "unable to apply caps: operation not permitted",
// because no process can gain a capability outside its bounding set.
//
// The wrapper is registered as Docker's default runtime in
// /etc/docker/daemon.json (see images/install-runtime-wrapper.sh):
//
//	{"runtimes": {"netcert-runc": {"path": "/usr/local/libexec/netcert/runc-capfilter"}},
//	 "default-runtime": "netcert-runc"}
//
// Docker (through containerd's runc shim) controls argv, so the wrapper takes
// no flags of its own. It parses runc's command line the way runc does
// (global flags, then the subcommand and its flags):
//
//   - create, run: filters .process.capabilities.{bounding,effective,
//     inheritable,permitted,ambient} in <bundle>/config.json, where the bundle
//     is given by --bundle/-b (default: the current directory);
//   - exec: filters .capabilities.* in the file given by --process/-p, if any;
//   - anything else is passed through untouched.
//
// A spec file is rewritten only when a capability is actually removed; it is
// edited generically (no field is lost, numbers are kept verbatim) and
// replaced atomically (temporary file + rename). Capability names the wrapper
// does not know are left alone. The arguments are then handed unchanged to the
// real runc via execve (argv[0] becomes the real runc's path).
//
// The real runc is $NETCERT_REAL_RUNC if set, else the first `runc` in PATH
// that is not this wrapper, else /usr/bin/runc, /usr/sbin/runc,
// /usr/local/bin/runc or /usr/local/sbin/runc.
//
// With NETCERT_CAPFILTER_DEBUG set (non-empty) in its environment, the wrapper
// reports on stderr which capabilities it removed.
//
// On any failure the wrapper prints "netcert-runc-capfilter: error: ..." to
// stderr and exits with status 1 without running runc.
package main
