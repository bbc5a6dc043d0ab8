//! `system`: host-wide settings.
//!
//! Savin runs on a Linux host that has its own clock, resolver, users and SSH daemon, so most
//! of what a saved Junos configuration says here is kept and shown (and printed back exactly)
//! but changes nothing yet: a configuration from an SRX loads as written instead of being
//! refused for its `system` block. The typed view carries what Savin uses.

use serde::Deserialize;

use crate::schema::{container, flag, leaf, leaf_list, list, Node};
use crate::value::Type;

/// Syslog severities, lowest first as Junos lists them.
const LEVELS: Type = Type::Enum(&[
    "any",
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "none",
]);

/// Syslog facilities: each is a statement `FACILITY LEVEL;` in a destination.
pub const FACILITIES: &[(&str, &str)] = &[
    ("any", "All facilities"),
    ("authorization", "Authorization system"),
    ("change-log", "Configuration change log"),
    ("conflict-log", "Configuration conflict log"),
    ("daemon", "Various system processes"),
    ("dfc", "Dynamic flow capture"),
    ("external", "Local external applications"),
    ("firewall", "Firewall filtering system"),
    ("ftp", "FTP process"),
    ("interactive-commands", "Commands executed by the UI"),
    ("kernel", "Kernel"),
    ("ntp", "NTP process"),
    ("pfe", "Packet Forwarding Engine"),
    ("security", "Security related"),
    ("user", "User processes"),
];

/// The facility statements and the options every syslog destination takes.
fn destination() -> Vec<Node> {
    let mut v: Vec<Node> = FACILITIES
        .iter()
        .map(|(f, help)| leaf(f, help, LEVELS))
        .collect();
    v.extend([
        flag(
            "explicit-priority",
            "Include priority and facility in messages",
        ),
        leaf(
            "match",
            "Regular expression for lines to be logged",
            Type::Text,
        ),
        flag("structured-data", "Log system message in structured format"),
    ]);
    v
}

/// `traceoptions { file NAME; flag F; }`, as most Junos hierarchies have it.
pub fn traceoptions() -> Node {
    container(
        "traceoptions",
        "Trace options",
        vec![
            list(
                "file",
                "Trace file",
                Type::Name,
                vec![
                    leaf("size", "Maximum trace file size", Type::Name),
                    leaf(
                        "files",
                        "Maximum number of trace files",
                        Type::Uint { min: 2, max: 1000 },
                    ),
                    flag("world-readable", "Allow any user to read the log file"),
                    flag(
                        "no-world-readable",
                        "Don't allow any user to read the log file",
                    ),
                ],
            )
            .oneline(),
            list("flag", "Tracing parameters", Type::Name, vec![]).oneline(),
            leaf("level", "Level of debugging output", Type::Name),
            flag("no-remote-trace", "Disable remote tracing"),
        ],
    )
    .no_effect()
}

fn ssh_keys() -> Vec<Node> {
    vec![
        leaf(
            "encrypted-password",
            "Encrypted password string",
            Type::Text,
        ),
        leaf(
            "plain-text-password-value",
            "Plain text password",
            Type::Text,
        ),
        list(
            "ssh-rsa",
            "Secure shell (ssh) RSA public key string",
            Type::Text,
            vec![],
        ),
        list(
            "ssh-ecdsa",
            "Secure shell (ssh) ECDSA public key string",
            Type::Text,
            vec![],
        ),
        list(
            "ssh-ed25519",
            "Secure shell (ssh) EdDSA public key string",
            Type::Text,
            vec![],
        ),
        list(
            "ssh-dsa",
            "Secure shell (ssh) DSA public key string",
            Type::Text,
            vec![],
        ),
    ]
}

fn syslog() -> Node {
    container(
        "syslog",
        "System logging facility",
        vec![
            list(
                "user",
                "Notify a user of the event",
                Type::Name,
                destination(),
            ),
            list("host", "Host to be notified", Type::Name, {
                let mut v = destination();
                v.extend([
                    leaf("port", "Port number", Type::Uint { min: 1, max: 65535 }),
                    leaf(
                        "source-address",
                        "Use specified address as source address",
                        Type::Ip,
                    ),
                    leaf(
                        "facility-override",
                        "Alternate facility for logging to remote host",
                        Type::Name,
                    ),
                    leaf(
                        "log-prefix",
                        "Prefix for all logging to this host",
                        Type::Name,
                    ),
                    leaf("routing-instance", "Routing instance", Type::Name),
                ]);
                v
            }),
            list("file", "File in which to log data", Type::Name, {
                let mut v = destination();
                v.push(archive());
                v
            }),
            container("console", "Console logging", destination()),
            archive(),
            leaf(
                "source-address",
                "Use specified address as source address",
                Type::Ip,
            ),
            container(
                "time-format",
                "Additional information to include in system log timestamp",
                vec![
                    flag("year", "Include year in timestamp"),
                    flag("millisecond", "Include milliseconds in timestamp"),
                ],
            )
            .presence(),
        ],
    )
}

fn archive() -> Node {
    container(
        "archive",
        "Archive file information",
        vec![
            leaf("size", "Size of files to be archived", Type::Name),
            leaf(
                "files",
                "Number of files to be archived",
                Type::Uint { min: 1, max: 1000 },
            ),
            flag("world-readable", "Allow any user to read the log file"),
            flag(
                "no-world-readable",
                "Don't allow any user to read the log file",
            ),
        ],
    )
    .presence()
}

fn services() -> Node {
    let port = || leaf("port", "Port number", Type::Uint { min: 1, max: 65535 });
    let limits = || {
        vec![
            leaf(
                "connection-limit",
                "Limit number of simultaneous connections",
                Type::Uint { min: 1, max: 250 },
            ),
            leaf(
                "rate-limit",
                "Limit incoming connection rate (per minute)",
                Type::Uint { min: 1, max: 250 },
            ),
        ]
    };
    container(
        "services",
        "System services",
        vec![
            container("ssh", "Allow ssh access", {
                let mut v = vec![
                    flag("sftp-server", "Allow the SFTP subsystem"),
                    leaf(
                        "root-login",
                        "Configure root access via ssh",
                        Type::Enum(&["allow", "deny", "deny-password"]),
                    ),
                    leaf_list(
                        "protocol-version",
                        "Specify ssh protocol versions supported",
                        Type::Enum(&["v1", "v2"]),
                    ),
                    flag(
                        "no-tcp-forwarding",
                        "Do not allow forwarding TCP connections via SSH",
                    ),
                    flag("tcp-forwarding", "Allow forwarding TCP connections via SSH"),
                    leaf(
                        "max-sessions-per-connection",
                        "Maximum number of sessions per single SSH connection",
                        Type::Uint { min: 1, max: 65535 },
                    ),
                    leaf(
                        "client-alive-interval",
                        "Frequency of client alive messages",
                        Type::Uint { min: 0, max: 65535 },
                    ),
                    leaf(
                        "client-alive-count-max",
                        "Threshold of missing client-alive responses",
                        Type::Uint { min: 0, max: 255 },
                    ),
                    port(),
                ];
                v.extend(limits());
                v
            })
            .presence(),
            container(
                "prometheus",
                "Serve metrics to Prometheus over HTTP (GET /metrics)",
                vec![port()],
            )
            .presence(),
            container(
                "netconf",
                "Allow NETCONF connections",
                vec![
                    container("ssh", "Allow NETCONF over SSH", {
                        let mut v = vec![port()];
                        v.extend(limits());
                        v
                    })
                    .presence(),
                    flag(
                        "rfc-compliant",
                        "Make the NETCONF server compliant with RFC 4741",
                    ),
                    flag("yang-compliant", "Make NETCONF YANG compliant"),
                    traceoptions(),
                ],
            )
            .presence(),
            container(
                "extension-service",
                "JET extension service",
                vec![
                    container(
                        "request-response",
                        "Request-response session options",
                        vec![container(
                            "grpc",
                            "gRPC service",
                            vec![
                                container("clear-text", "Clear text gRPC", vec![port()]).presence(),
                                container(
                                    "ssl",
                                    "SSL gRPC",
                                    vec![
                                        port(),
                                        leaf_list(
                                            "local-certificate",
                                            "Local certificate",
                                            Type::Name,
                                        ),
                                    ],
                                )
                                .presence(),
                                leaf("routing-instance", "Routing instance", Type::Name),
                                flag("skip-authentication", "Skip authentication"),
                            ],
                        )],
                    ),
                    container(
                        "notification",
                        "Notification session options",
                        vec![
                            port(),
                            container(
                                "allow-clients",
                                "Clients allowed",
                                vec![leaf_list("address", "Client address", Type::Name)],
                            ),
                        ],
                    ),
                    traceoptions(),
                ],
            )
            .unsupported(
                "JET gRPC and notification services (Savin's API is NETCONF and its own socket)",
            ),
            container(
                "outbound-ssh",
                "Initiate outbound SSH connection",
                vec![
                    leaf("routing-instance", "Routing instance", Type::Name),
                    list(
                        "client",
                        "The management application to connect to",
                        Type::Name,
                        vec![
                            list(
                                "address",
                                "Address of the application",
                                Type::HostName,
                                vec![
                                    leaf("port", "Port", Type::Uint { min: 1, max: 65535 }),
                                    leaf(
                                        "timeout",
                                        "Connection timeout (seconds)",
                                        Type::Uint { min: 1, max: 3600 },
                                    ),
                                    leaf(
                                        "retry",
                                        "Connection retries",
                                        Type::Uint {
                                            min: 0,
                                            max: 100_000,
                                        },
                                    ),
                                ],
                            )
                            .bare(),
                            leaf("device-id", "Device identifier", Type::Text),
                            leaf("secret", "Shared secret", Type::Text),
                            container(
                                "services",
                                "Services the application may use",
                                vec![container(
                                    "netconf",
                                    "NETCONF",
                                    vec![container(
                                        "keep-alive",
                                        "Keep-alive messages",
                                        vec![
                                            leaf(
                                                "retry",
                                                "Retries",
                                                Type::Uint { min: 1, max: 255 },
                                            ),
                                            leaf(
                                                "timeout",
                                                "Timeout (seconds)",
                                                Type::Uint { min: 1, max: 255 },
                                            ),
                                        ],
                                    )
                                    .presence()],
                                )
                                .presence()],
                            ),
                        ],
                    ),
                ],
            )
            .presence()
            .unsupported("outbound SSH"),
            container("telnet", "Allow telnet login", limits()).presence(),
            container("ftp", "Allow FTP file transfers", limits()).presence(),
            container("finger", "Allow finger requests", limits()).presence(),
            container(
                "xnm-clear-text",
                "Allow clear text-based JUNOScript connections",
                limits(),
            )
            .presence(),
            container(
                "xnm-ssl",
                "Allow SSL-based JUNOScript connections",
                limits(),
            )
            .presence(),
            container(
                "web-management",
                "Web management configuration",
                vec![
                    container(
                        "http",
                        "Unencrypted HTTP connection settings",
                        vec![
                            port(),
                            leaf_list(
                                "interface",
                                "Interfaces that accept HTTP access",
                                Type::IflName,
                            ),
                        ],
                    )
                    .presence(),
                    container(
                        "https",
                        "Encrypted HTTPS connections",
                        vec![
                            port(),
                            leaf_list(
                                "interface",
                                "Interfaces that accept HTTPS access",
                                Type::IflName,
                            ),
                            flag(
                                "system-generated-certificate",
                                "X.509 certificate generated automatically by system",
                            ),
                            leaf(
                                "pki-local-certificate",
                                "X.509 certificate to use (from PKI local store)",
                                Type::Name,
                            ),
                        ],
                    )
                    .presence(),
                    leaf("session", "Web management session", Type::Name),
                ],
            )
            .presence(),
        ],
    )
}

fn login() -> Node {
    container(
        "login",
        "Names, login classes, and passwords for users",
        vec![
            container(
                "password",
                "Password rules for local users (Savin has no local password logins yet)",
                vec![
                    leaf(
                        "minimum-length",
                        "Minimum password length",
                        Type::Uint { min: 6, max: 20 },
                    ),
                    leaf(
                        "maximum-length",
                        "Maximum password length",
                        Type::Uint { min: 20, max: 128 },
                    ),
                    leaf(
                        "change-type",
                        "Password change type",
                        Type::Enum(&["character-sets", "set-transitions"]),
                    ),
                    leaf(
                        "minimum-changes",
                        "Minimum number of changes in password",
                        Type::Uint { min: 0, max: 15 },
                    ),
                    leaf(
                        "minimum-numerics",
                        "Minimum number of numeric characters",
                        Type::Uint { min: 1, max: 128 },
                    ),
                    leaf(
                        "minimum-upper-cases",
                        "Minimum number of upper-case characters",
                        Type::Uint { min: 1, max: 128 },
                    ),
                    leaf(
                        "minimum-lower-cases",
                        "Minimum number of lower-case characters",
                        Type::Uint { min: 1, max: 128 },
                    ),
                    leaf(
                        "minimum-punctuations",
                        "Minimum number of punctuation characters",
                        Type::Uint { min: 1, max: 128 },
                    ),
                    leaf(
                        "format",
                        "Encryption method to use for password",
                        Type::Enum(&["sha256", "sha512", "md5", "sha1", "des"]),
                    ),
                ],
            )
            .no_effect(),
            leaf("message", "System login message", Type::Text),
            leaf(
                "announcement",
                "System announcement message (displayed after login)",
                Type::Text,
            ),
            list(
                "class",
                "Login class",
                Type::Name,
                vec![
                    leaf_list(
                        "permissions",
                        "Set of permitted operation categories",
                        Type::Name,
                    ),
                    leaf(
                        "idle-timeout",
                        "Maximum idle time before logout",
                        Type::Uint {
                            min: 0,
                            max: 4294967295,
                        },
                    ),
                    leaf(
                        "allow-commands",
                        "Regular expression for commands to allow explicitly",
                        Type::Text,
                    ),
                    leaf(
                        "deny-commands",
                        "Regular expression for commands to deny explicitly",
                        Type::Text,
                    ),
                    leaf(
                        "allow-configuration",
                        "Regular expression for configure to allow explicitly",
                        Type::Text,
                    ),
                    leaf(
                        "deny-configuration",
                        "Regular expression for configure to deny explicitly",
                        Type::Text,
                    ),
                ],
            ),
            list(
                "user",
                "User name (login)",
                Type::Name,
                vec![
                    leaf("full-name", "Full name", Type::Text),
                    leaf(
                        "uid",
                        "User identifier (uid)",
                        Type::Uint {
                            min: 100,
                            max: 64000,
                        },
                    ),
                    leaf("class", "Login class", Type::Name),
                    leaf("shell", "User's login shell", Type::Name),
                    container("authentication", "Authentication method", ssh_keys()),
                ],
            ),
        ],
    )
}

pub fn schema() -> Node {
    container(
        "system",
        "System parameters",
        vec![
            leaf("host-name", "Hostname for this router", Type::HostName),
            container(
                "phone-home",
                "Zero-touch provisioning from a phone-home server",
                vec![
                    leaf("server", "Phone-home server URL", Type::Text),
                    leaf("ca-profile", "CA profile of the server", Type::Name),
                ],
            )
            .presence()
            .unsupported("phone-home provisioning"),
            leaf("domain-name", "Domain name for this router", Type::HostName),
            leaf_list(
                "domain-search",
                "List of domain names to search",
                Type::HostName,
            ),
            leaf(
                "time-zone",
                "Time zone name or POSIX-compliant time zone string",
                Type::Name,
            ),
            leaf(
                "backup-router",
                "IPv4 router to use while booting",
                Type::Ipv4,
            ),
            container(
                "root-authentication",
                "Authentication information for the root user",
                ssh_keys(),
            ),
            leaf_list(
                "authentication-order",
                "Order in which authentication methods are invoked",
                Type::Enum(&["password", "radius", "tacplus"]),
            ),
            // Junos prints `name-server { 192.0.2.53; }`; `name-server 192.0.2.53;` loads too.
            container(
                "name-server",
                "DNS name servers",
                vec![list(
                    "server",
                    "DNS name server address",
                    Type::Ip,
                    vec![leaf(
                        "routing-instance",
                        "Routing instance through which server is reachable",
                        Type::Name,
                    )],
                )
                .bare()
                .oneline()],
            ),
            login(),
            services(),
            syslog(),
            container(
                "ntp",
                "Network Time Protocol services",
                vec![
                    leaf(
                        "boot-server",
                        "Server to query during boot sequence",
                        Type::Ip,
                    ),
                    list(
                        "server",
                        "Configure NTP server",
                        Type::Ip,
                        vec![
                            flag("prefer", "Prefer this peer"),
                            leaf(
                                "version",
                                "NTP version to use",
                                Type::Uint { min: 1, max: 4 },
                            ),
                            leaf(
                                "key",
                                "Authentication key",
                                Type::Uint { min: 1, max: 65534 },
                            ),
                            leaf(
                                "routing-instance",
                                "Routing instance through which server is reachable",
                                Type::Name,
                            ),
                        ],
                    )
                    .oneline(),
                    leaf(
                        "source-address",
                        "Use specified address as source address",
                        Type::Ip,
                    ),
                ],
            ),
            container(
                "license",
                "License information for the router (accepted and shown, no effect)",
                vec![container(
                    "autoupdate",
                    "Autoupdate license keys from license servers",
                    vec![leaf("url", "URL of a license server", Type::Text)],
                )
                .presence()],
            ),
            container(
                "ports",
                "Craft interface RS-232 ports",
                ["console", "auxiliary"]
                    .into_iter()
                    .map(|p| {
                        container(
                            p,
                            if p == "console" {
                                "Console port"
                            } else {
                                "Auxiliary port"
                            },
                            vec![
                                flag(
                                    "log-out-on-disconnect",
                                    "Log out the console session when cable is unplugged",
                                ),
                                flag("insecure", "Disallow superuser access"),
                                flag("disable", "Disable port"),
                                leaf(
                                    "type",
                                    "Terminal type",
                                    Type::Enum(&["ansi", "vt100", "small-xterm", "xterm"]),
                                ),
                            ],
                        )
                        .presence()
                    })
                    .collect(),
            ),
            container(
                "commit",
                "Configuration commit management",
                vec![
                    flag(
                        "synchronize",
                        "Synchronize commit on both Routing Engines by default",
                    ),
                    flag(
                        "persist-groups-inheritance",
                        "Build and keep the inherited configuration",
                    ),
                    flag(
                        "notification",
                        "Notify the management daemons of commits (always done)",
                    )
                    .no_effect(),
                ],
            ),
            flag(
                "management-instance",
                "Enable the mgmt_junos routing instance for management interfaces",
            ),
            leaf(
                "max-configurations-on-flash",
                "Number of configuration files stored on flash",
                Type::Uint { min: 0, max: 49 },
            ),
            flag("no-redirects", "Disable ICMP redirects"),
            flag("debugger-on-panic", "Enter the debugger on a kernel panic").no_effect(),
            flag("debugger-on-break", "Enter the debugger on a break").no_effect(),
            flag("dump-on-panic", "Dump core on a kernel panic").no_effect(),
            list(
                "radius-server",
                "RADIUS server configuration",
                Type::Ip,
                vec![
                    leaf("secret", "Shared secret with the server", Type::Text),
                    leaf(
                        "port",
                        "RADIUS server authentication port number",
                        Type::Uint { min: 1, max: 65535 },
                    ),
                    leaf(
                        "source-address",
                        "Use specified address as source address",
                        Type::Ip,
                    ),
                ],
            )
            .unsupported("RADIUS authentication (the host's PAM does logins)"),
            list(
                "tacplus-server",
                "TACACS+ server configuration",
                Type::Ip,
                vec![
                    leaf("secret", "Shared secret with the server", Type::Text),
                    leaf(
                        "source-address",
                        "Use specified address as source address",
                        Type::Ip,
                    ),
                ],
            )
            .unsupported("TACACS+ authentication (the host's PAM does logins)"),
            container(
                "processes",
                "Process control (Savin's are its own threads)",
                [
                    "routing",
                    "ntp",
                    "management",
                    "watchdog",
                    "snmp",
                    "inet-process",
                    "mib-process",
                    "dhcp-service",
                    "sdk-service",
                ]
                .into_iter()
                .map(|p| {
                    container(
                        p,
                        "A Junos process",
                        vec![
                            flag("enable", "Enable process"),
                            flag("disable", "Disable process"),
                        ],
                    )
                    .oneline()
                })
                .collect(),
            )
            .no_effect(),
            container(
                "scripts",
                "Scripting mechanisms",
                vec![
                    leaf(
                        "language",
                        "Scripting language",
                        Type::Enum(&["python", "python3", "none"]),
                    ),
                    container(
                        "op",
                        "Operation scripts",
                        vec![list("file", "Script file", Type::Name, vec![])],
                    ),
                    container(
                        "commit",
                        "Commit-time scripts",
                        vec![list("file", "Script file", Type::Name, vec![])],
                    ),
                    container(
                        "snmp",
                        "SNMP scripts",
                        vec![
                            list(
                                "file",
                                "Script file",
                                Type::Name,
                                vec![leaf_list("oid", "OID", Type::Name)],
                            ),
                            traceoptions(),
                        ],
                    ),
                ],
            )
            .unsupported("op, commit and SNMP scripts"),
            container(
                "extensions",
                "Configuration for extensions to JUNOS",
                vec![
                    container(
                        "providers",
                        "Extension providers and their licences",
                        vec![list(
                            "provider",
                            "Provider",
                            Type::Name,
                            vec![list(
                                "license-type",
                                "License type",
                                Type::Name,
                                vec![leaf_list(
                                    "deployment-scope",
                                    "Deployment scope",
                                    Type::Name,
                                )],
                            )],
                        )
                        .bare()],
                    ),
                    container(
                        "extension-service",
                        "Extension service configuration",
                        vec![container(
                            "application",
                            "Application configuration",
                            vec![list(
                                "file",
                                "Application file",
                                Type::Name,
                                vec![
                                    flag("daemonize", "Run as a daemon"),
                                    leaf("username", "User to run as", Type::Name),
                                ],
                            )],
                        )],
                    ),
                ],
            )
            .unsupported("on-box extension applications (JET)"),
            flag("no-redirects-ipv6", "Disable IPv6 ICMP redirects"),
        ],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
// Not `deny_unknown_fields`: the statements kept with no effect (services, login, syslog,
// ...) are left out of the typed view on purpose.
pub struct System {
    pub host_name: Option<String>,
    pub domain_name: Option<String>,
    pub time_zone: Option<String>,
    #[serde(default)]
    pub name_server: NameServers,
    #[serde(default)]
    pub syslog: Syslog,
    #[serde(default)]
    pub services: Services,
    #[serde(default)]
    pub login: Login,
    #[serde(default)]
    pub root_authentication: Authentication,
}

/// `system services`: the box's own servers (the others are kept with no effect).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Services {
    /// `ssh`: the CLI over SSH (and the NETCONF subsystem on the same port, as Junos serves).
    pub ssh: Option<SshService>,
    pub netconf: Option<NetconfService>,
    /// `prometheus`: the metrics endpoint (off unless configured).
    pub prometheus: Option<PrometheusService>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PrometheusService {
    /// 9100 unless set.
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SshService {
    /// 22 unless set.
    pub port: Option<u16>,
    /// `allow`, `deny`, `deny-password` (Junos's default).
    pub root_login: Option<String>,
    /// Simultaneous connections (75 unless set, as on Junos).
    pub connection_limit: Option<u32>,
    /// Connections a minute (150 unless set).
    pub rate_limit: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetconfService {
    /// `netconf ssh`: the NETCONF subsystem on its own port (830 unless set).
    pub ssh: Option<NetconfSsh>,
    /// Chunked framing and RFC 6241 replies when the client offers base:1.1.
    #[serde(default)]
    pub rfc_compliant: super::Flag,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetconfSsh {
    pub port: Option<u16>,
    pub connection_limit: Option<u32>,
    pub rate_limit: Option<u32>,
}

/// `system login`: the users who may log in over SSH and NETCONF.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Login {
    #[serde(default)]
    pub user: Vec<User>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    pub name: String,
    pub uid: Option<u32>,
    /// `super-user`, `operator`, `read-only` (or `unauthorized`).
    pub class: Option<String>,
    #[serde(default)]
    pub authentication: Authentication,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Authentication {
    /// A crypt(3) hash: `$6$...` (SHA-512), `$5$...` (SHA-256).
    pub encrypted_password: Option<String>,
    #[serde(default)]
    pub ssh_rsa: Vec<PublicKey>,
    #[serde(default)]
    pub ssh_ecdsa: Vec<PublicKey>,
    #[serde(default)]
    pub ssh_ed25519: Vec<PublicKey>,
}

impl Authentication {
    /// Every public key, in OpenSSH's one-line form (`ssh-ed25519 AAAA... comment`).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.ssh_rsa
            .iter()
            .chain(&self.ssh_ecdsa)
            .chain(&self.ssh_ed25519)
            .map(|k| k.name.as_str())
    }
}

/// One `ssh-ed25519 "KEY"` statement.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PublicKey {
    pub name: String,
}

/// `system syslog`: where the box's messages go.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Syslog {
    #[serde(default)]
    pub file: Vec<SyslogDest>,
    #[serde(default)]
    pub host: Vec<SyslogDest>,
    #[serde(default)]
    pub user: Vec<SyslogDest>,
    pub source_address: Option<std::net::IpAddr>,
}

/// A destination: its name (file, host or user) and its statements (`FACILITY LEVEL`,
/// `structured-data`, `archive`, `port`), read by the syslog subsystem.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SyslogDest {
    pub name: String,
    #[serde(flatten)]
    pub statements: std::collections::BTreeMap<String, serde_json::Value>,
}

impl SyslogDest {
    /// The `FACILITY LEVEL` statements.
    pub fn selections(&self) -> Vec<(&str, &str)> {
        FACILITIES
            .iter()
            .filter_map(|(f, _)| Some((*f, self.statements.get(*f)?.as_str()?)))
            .collect()
    }

    pub fn has(&self, flag: &str) -> bool {
        self.statements.contains_key(flag)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NameServers {
    #[serde(default)]
    pub server: Vec<NameServer>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NameServer {
    pub name: std::net::IpAddr,
}

#[cfg(test)]
mod login_tests {
    use crate::Configuration;

    #[test]
    fn services_and_users_reach_the_typed_view() {
        let c = Configuration::parse(
            r#"system {
                services { ssh { port 2222; } netconf { ssh { port 8830; } } }
                login {
                    user alice { uid 2001; class super-user; authentication {
                        encrypted-password "$6$salt$hash";
                        ssh-ed25519 "ssh-ed25519 AAAAC3Nza alice@host";
                    } }
                    user bob { uid 2002; class read-only; }
                }
            }"#,
            None,
        )
        .unwrap()
        .check()
        .unwrap();
        let s = &c.system;
        assert_eq!(s.services.ssh.as_ref().unwrap().port, Some(2222));
        assert_eq!(
            s.services
                .netconf
                .as_ref()
                .unwrap()
                .ssh
                .as_ref()
                .unwrap()
                .port,
            Some(8830)
        );
        let alice = &s.login.user[0];
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.class.as_deref(), Some("super-user"));
        assert_eq!(
            alice.authentication.encrypted_password.as_deref(),
            Some("$6$salt$hash")
        );
        assert_eq!(
            alice.authentication.keys().collect::<Vec<_>>(),
            ["ssh-ed25519 AAAAC3Nza alice@host"]
        );
        assert_eq!(s.login.user[1].class.as_deref(), Some("read-only"));
        let bare = Configuration::parse("system { services { netconf { ssh; } ssh; } }", None)
            .unwrap()
            .check()
            .unwrap();
        assert!(bare.system.services.ssh.is_some());
        let rfc = Configuration::parse(
            "system { services { netconf { ssh; rfc-compliant; } } }",
            None,
        )
        .unwrap()
        .check()
        .unwrap();
        assert!(rfc.system.services.netconf.unwrap().rfc_compliant.0);
        assert_eq!(
            bare.system.services.netconf.unwrap().ssh,
            Some(super::NetconfSsh::default())
        );
    }
}
