//! Shared corpus of iptables lines for the rules tests: valid lines with the canonical text
//! they must print as, in an order that also applies cleanly to a fresh network namespace
//! (chains are created before they are used, rules exist before they are deleted); and
//! malformed or unsupported lines with the word each error must name.

/// (input as a scenario or student writes it, canonical `Display`).
pub const VALID: &[(&str, &str)] = &[
    // The course lab, as written in its handout.
    (
        "iptables -t filter -A OUTPUT -o eth0 \\\n    -m tcp -p tcp --dport 25 \\\n    -j DROP",
        "-t filter -A OUTPUT -o eth0 -p tcp -m tcp --dport 25 -j DROP",
    ),
    (
        "iptables -t filter -A OUTPUT -o eth0 -m tcp -p tcp --dport 25 -j REJECT --reject-with icmp-host-unreachable",
        "-t filter -A OUTPUT -o eth0 -p tcp -m tcp --dport 25 -j REJECT --reject-with icmp-host-unreachable",
    ),
    (
        "sudo iptables -t nat -A PREROUTING -i eth0 -m tcp -p tcp --dport 25 -j REDIRECT --to-port 25025",
        "-t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 25 -j REDIRECT --to-ports 25025",
    ),
    (
        "-t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 21 -j REDIRECT --to-port 27664",
        "-t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 21 -j REDIRECT --to-ports 27664",
    ),
    // Ports: service names, open ranges, `=` values, a range of one.
    (
        "-A INPUT -p tcp --dport smtp -j REJECT",
        "-t filter -A INPUT -p tcp -m tcp --dport 25 -j REJECT --reject-with icmp-port-unreachable",
    ),
    (
        "-A INPUT -p TCP --sport :1000 -j ACCEPT",
        "-t filter -A INPUT -p tcp -m tcp --sport 0:1000 -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp --sport 1000: -j ACCEPT",
        "-t filter -A INPUT -p tcp -m tcp --sport 1000:65535 -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp --dport=22 -j ACCEPT",
        "-t filter -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp --dport 25:25 -j ACCEPT",
        "-t filter -A INPUT -p tcp -m tcp --dport 25 -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp --source-port 1024:65535 --destination-port http -j ACCEPT",
        "-t filter -A INPUT -p tcp -m tcp --sport 1024:65535 --dport 80 -j ACCEPT",
    ),
    (
        "-A INPUT -p udp -m udp --dport 53 -j ACCEPT",
        "-t filter -A INPUT -p udp -m udp --dport 53 -j ACCEPT",
    ),
    // Addresses, interfaces, negation, and iptables' own order of the basic matches.
    (
        "-A INPUT ! -s 10.0.0.5/24 -d 1.2.3.4 -p udp -i eth+ -j ACCEPT",
        "-t filter -A INPUT ! -s 10.0.0.0/24 -d 1.2.3.4/32 -i eth+ -p udp -j ACCEPT",
    ),
    (
        "-A FORWARD -s 10.0.0.0/255.255.255.0 -j ACCEPT",
        "-t filter -A FORWARD -s 10.0.0.0/24 -j ACCEPT",
    ),
    (
        "-A FORWARD -i eth0 ! -o eth1 -j ACCEPT",
        "-t filter -A FORWARD -i eth0 ! -o eth1 -j ACCEPT",
    ),
    ("-A INPUT -s 0/0 -j DROP", "-t filter -A INPUT -j DROP"),
    (
        "-A INPUT -i lo -j ACCEPT",
        "-t filter -A INPUT -i lo -j ACCEPT",
    ),
    (
        "--table nat --append OUTPUT --protocol tcp --destination 1.1.1.1 --jump ACCEPT",
        "-t nat -A OUTPUT -d 1.1.1.1/32 -p tcp -j ACCEPT",
    ),
    ("-A INPUT -p all -j RETURN", "-t filter -A INPUT -j RETURN"),
    // TCP flags.
    (
        "-A INPUT -p tcp --syn -j ACCEPT",
        "-t filter -A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp -j ACCEPT ! --syn",
        "-t filter -A INPUT -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp --tcp-flags syn,ack ACK -j ACCEPT",
        "-t filter -A INPUT -p tcp -m tcp --tcp-flags SYN,ACK ACK -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp --tcp-flags ALL NONE -j DROP",
        "-t filter -A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE -j DROP",
    ),
    // Connection tracking.
    (
        "-A INPUT -m state --state ESTABLISHED,RELATED,new -j ACCEPT",
        "-t filter -A INPUT -m state --state NEW,RELATED,ESTABLISHED -j ACCEPT",
    ),
    (
        "-A INPUT -m conntrack --ctstate DNAT,ESTABLISHED,INVALID,UNTRACKED -j ACCEPT",
        "-t filter -A INPUT -m conntrack --ctstate INVALID,ESTABLISHED,UNTRACKED,DNAT -j ACCEPT",
    ),
    (
        "-A INPUT -m conntrack ! --ctstate NEW -j ACCEPT",
        "-t filter -A INPUT -m conntrack ! --ctstate NEW -j ACCEPT",
    ),
    (
        "-A INPUT -p udp --sport 53 -m state --state ESTABLISHED -j ACCEPT",
        "-t filter -A INPUT -p udp -m udp --sport 53 -m state --state ESTABLISHED -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp -m state --state NEW --dport 22 -j DROP",
        "-t filter -A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j DROP",
    ),
    // ICMP.
    (
        "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT",
        "-t filter -A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT",
    ),
    (
        "-A INPUT -p icmp --icmp-type 3/1 -j ACCEPT",
        "-t filter -A INPUT -p icmp -m icmp --icmp-type 3/1 -j ACCEPT",
    ),
    (
        "-A INPUT -p icmp --icmp-type 8/0 -j ACCEPT",
        "-t filter -A INPUT -p icmp -m icmp --icmp-type 8/0 -j ACCEPT",
    ),
    (
        "-A INPUT -p icmp --icmp-type 3/255 -j ACCEPT",
        "-t filter -A INPUT -p icmp -m icmp --icmp-type 3/255 -j ACCEPT",
    ),
    (
        "-A INPUT -p icmp --icmp-type any -j ACCEPT",
        "-t filter -A INPUT -p icmp -m icmp --icmp-type any -j ACCEPT",
    ),
    (
        "-A INPUT -p icmp -m icmp ! --icmp-type port-unreachable -j DROP",
        "-t filter -A INPUT -p icmp -m icmp ! --icmp-type 3/3 -j DROP",
    ),
    // Multiport.
    (
        "-A INPUT -p tcp -m multiport --dports 21,25,80:90 -j ACCEPT",
        "-t filter -A INPUT -p tcp -m multiport --dports 21,25,80:90 -j ACCEPT",
    ),
    (
        "-A INPUT -p udp -m multiport ! --ports 53 -j ACCEPT",
        "-t filter -A INPUT -p udp -m multiport ! --ports 53 -j ACCEPT",
    ),
    (
        "-A INPUT -p tcp -m multiport --source-ports 1024:65535,ssh -j ACCEPT",
        "-t filter -A INPUT -p tcp -m multiport --sports 1024:65535,22 -j ACCEPT",
    ),
    // REJECT, LOG.
    (
        "-A FORWARD -p 6 -j REJECT --reject-with tcp-rst",
        "-t filter -A FORWARD -p tcp -j REJECT --reject-with tcp-reset",
    ),
    (
        "-A FORWARD -p tcp -j REJECT --reject-with tcp-reset",
        "-t filter -A FORWARD -p tcp -j REJECT --reject-with tcp-reset",
    ),
    (
        "-A OUTPUT -p udp -j REJECT --reject-with admin-prohib",
        "-t filter -A OUTPUT -p udp -j REJECT --reject-with icmp-admin-prohibited",
    ),
    (
        "-A OUTPUT -j REJECT --reject-with icmp-net-unreachable",
        "-t filter -A OUTPUT -j REJECT --reject-with icmp-net-unreachable",
    ),
    (
        "-A INPUT -j LOG --log-prefix \"x: \" --log-level 6",
        "-t filter -A INPUT -j LOG --log-prefix \"x: \" --log-level 6",
    ),
    (
        "-A INPUT -j LOG --log-level warning --log-prefix 'DROP'",
        "-t filter -A INPUT -j LOG --log-prefix DROP",
    ),
    ("-t mangle -A FORWARD -j LOG", "-t mangle -A FORWARD -j LOG"),
    (
        "-t raw -A OUTPUT -p udp -j LOG --log-level debug",
        "-t raw -A OUTPUT -p udp -j LOG --log-level 7",
    ),
    // NAT.
    (
        "-t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080",
        "-t nat -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080",
    ),
    (
        "-t nat -A PREROUTING -d 203.0.113.5 -j DNAT --to-destination 10.0.0.2",
        "-t nat -A PREROUTING -d 203.0.113.5/32 -j DNAT --to-destination 10.0.0.2",
    ),
    (
        "-t nat -A OUTPUT -p tcp -d 1.2.3.4 -j DNAT --to-destination :80",
        "-t nat -A OUTPUT -d 1.2.3.4/32 -p tcp -j DNAT --to-destination :80",
    ),
    (
        "-t nat -A OUTPUT -p tcp -d 1.2.3.4 -j REDIRECT",
        "-t nat -A OUTPUT -d 1.2.3.4/32 -p tcp -j REDIRECT",
    ),
    (
        "-t nat -A POSTROUTING -o eth0 -j MASQUERADE",
        "-t nat -A POSTROUTING -o eth0 -j MASQUERADE",
    ),
    (
        "-t nat -A POSTROUTING -p tcp -o eth0 -j MASQUERADE --to-ports 1000-2000",
        "-t nat -A POSTROUTING -o eth0 -p tcp -j MASQUERADE --to-ports 1000-2000",
    ),
    (
        "-t nat -A POSTROUTING -p udp -j SNAT --to-source 10.0.0.1-10.0.0.3:1000-2000",
        "-t nat -A POSTROUTING -p udp -j SNAT --to-source 10.0.0.1-10.0.0.3:1000-2000",
    ),
    (
        "-t nat -A INPUT -j SNAT --to-source 10.0.0.2",
        "-t nat -A INPUT -j SNAT --to-source 10.0.0.2",
    ),
    // Chains and the other commands.
    ("-N ssh-in", "-t filter -N ssh-in"),
    ("--new-chain LOG_DROP", "-t filter -N LOG_DROP"),
    (
        "-A ssh-in -p tcp -j REJECT --reject-with tcp-reset",
        "-t filter -A ssh-in -p tcp -j REJECT --reject-with tcp-reset",
    ),
    (
        "-A LOG_DROP -j LOG --log-prefix dropped",
        "-t filter -A LOG_DROP -j LOG --log-prefix dropped",
    ),
    ("-A LOG_DROP -j DROP", "-t filter -A LOG_DROP -j DROP"),
    (
        "-A INPUT -p tcp --dport 22 -j ssh-in",
        "-t filter -A INPUT -p tcp -m tcp --dport 22 -j ssh-in",
    ),
    (
        "-I INPUT -p tcp --dport 23 -j LOG_DROP",
        "-t filter -I INPUT -p tcp -m tcp --dport 23 -j LOG_DROP",
    ),
    (
        "-I INPUT 2 -i lo -j ACCEPT",
        "-t filter -I INPUT 2 -i lo -j ACCEPT",
    ),
    (
        "--insert INPUT 3 -j ACCEPT",
        "-t filter -I INPUT 3 -j ACCEPT",
    ),
    (
        "-D INPUT -p tcp --dport 22 -j ssh-in",
        "-t filter -D INPUT -p tcp -m tcp --dport 22 -j ssh-in",
    ),
    ("-D INPUT 1", "-t filter -D INPUT 1"),
    ("-F ssh-in", "-t filter -F ssh-in"),
    ("-X ssh-in", "-t filter -X ssh-in"),
    ("-P FORWARD DROP", "-t filter -P FORWARD DROP"),
    ("-t nat -P OUTPUT ACCEPT", "-t nat -P OUTPUT ACCEPT"),
    (
        "-t mangle -P PREROUTING DROP",
        "-t mangle -P PREROUTING DROP",
    ),
    ("-F", "-t filter -F"),
    ("-t nat --flush", "-t nat -F"),
    ("-X", "-t filter -X"),
    (
        "-A INPUT -p tcp -j ACCEPT # a comment",
        "-t filter -A INPUT -p tcp -j ACCEPT",
    ),
];

/// Random iptables lines assembled from pieces that are each valid somewhere, so that many
/// combinations parse and many do not: a deterministic sweep of the parser's checks.
pub fn random_lines(count: usize, seed: u64) -> Vec<String> {
    const TABLES: &[&str] = &["", "-t filter", "-t nat", "-t mangle", "-t raw"];
    const CHAINS: &[&str] = &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
    const PIECES: &[&str] = &[
        "-p tcp",
        "-p udp",
        "-p icmp",
        "! -p tcp",
        "-s 10.0.0.0/8",
        "! -d 192.0.2.1",
        "-i eth0",
        "-o eth1",
        "! -i eth+",
        "--dport 22",
        "! --sport 1024:",
        "--syn",
        "--tcp-flags SYN,ACK SYN",
        "-m tcp",
        "-m udp",
        "-m icmp",
        "--icmp-type echo-request",
        "! --icmp-type 3/4",
        "-m multiport",
        "--dports 80,443",
        "! --ports 53",
        "-m state",
        "--state NEW",
        "-m conntrack",
        "! --ctstate ESTABLISHED,RELATED",
    ];
    const TARGETS: &[&str] = &[
        "",
        "-j ACCEPT",
        "-j DROP",
        "-j RETURN",
        "-j REJECT",
        "-j REJECT --reject-with tcp-reset",
        "-j REJECT --reject-with icmp-host-prohibited",
        "-j REDIRECT",
        "-j REDIRECT --to-ports 8080",
        "-j DNAT --to-destination 10.0.0.2",
        "-j DNAT --to-destination 10.0.0.2:80",
        "-j SNAT --to-source 10.0.0.1",
        "-j MASQUERADE",
        "-j MASQUERADE --to-ports 1000-2000",
        "-j LOG --log-prefix 'fw: '",
        "-j LOG --log-level info",
    ];
    // xorshift64: reproducible without a dependency.
    let mut state = seed.max(1);
    let mut pick = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    (0..count)
        .map(|_| {
            let mut words = vec![TABLES[pick(TABLES.len())], "-A", CHAINS[pick(CHAINS.len())]];
            for _ in 0..pick(6) {
                words.push(PIECES[pick(PIECES.len())]);
            }
            words.push(TARGETS[pick(TARGETS.len())]);
            words.retain(|w| !w.is_empty());
            words.join(" ")
        })
        .collect()
}

/// (line, the word the error must name). The column must point at that word.
pub const INVALID: &[(&str, &str)] = &[
    // Misspellings get a suggestion.
    ("-A INPUT -j REDIRCT", "REDIRCT"),
    ("-A INPUT -j accept", "accept"),
    ("-A INPUT -j DORP", "DORP"),
    ("-t nat -A PREROUTNG -j ACCEPT", "PREROUTNG"),
    ("-t NAT -A OUTPUT -j ACCEPT", "NAT"),
    ("-t nat -a OUTPUT -j ACCEPT", "-a"),
    ("-A INPUT -p tcp --dprt 22 -j ACCEPT", "--dprt"),
    ("-A INPUT -p tcp --dport smtpp -j DROP", "smtpp"),
    ("-A INPUT -m state --state NEWW -j ACCEPT", "NEWW"),
    (
        "-A INPUT -p icmp --icmp-type echo-requst -j ACCEPT",
        "echo-requst",
    ),
    (
        "-A INPUT -p tcp -j REJECT --reject-with icmp-host-unreach",
        "icmp-host-unreach",
    ),
    ("-A INPUT -m conntrak --ctstate NEW -j ACCEPT", "conntrak"),
    // Chains and tables that do not fit together.
    ("-A PREROUTING -j ACCEPT", "PREROUTING"),
    ("-t raw -A INPUT -j ACCEPT", "INPUT"),
    (
        "-t filter -A INPUT -p tcp --dport 21 -j REDIRECT --to-ports 8080",
        "REDIRECT",
    ),
    (
        "-t nat -A POSTROUTING -p tcp -j REDIRECT --to-ports 80",
        "REDIRECT",
    ),
    ("-t nat -A PREROUTING -j MASQUERADE", "MASQUERADE"),
    ("-t mangle -A INPUT -j REJECT", "REJECT"),
    ("-t nat -A PREROUTING -p tcp --dport 25 -j DROP", "DROP"),
    ("-t nat -A PREROUTING -j SNAT --to-source 10.0.0.1", "SNAT"),
    ("-A OUTPUT -i eth0 -j DROP", "-i"),
    ("-A INPUT -o eth0 -j DROP", "-o"),
    ("-t nat -A POSTROUTING -i eth0 -j MASQUERADE", "-i"),
    // Options that need a protocol or module.
    ("-A INPUT --dport 25 -j DROP", "--dport"),
    ("-A INPUT -p icmp --dport 25 -j DROP", "--dport"),
    ("-A INPUT ! -p tcp --dport 25 -j DROP", "--dport"),
    ("-A INPUT -p tcp --icmp-type 8 -j DROP", "--icmp-type"),
    ("-A INPUT -m tcp --dport 25 -j DROP", "tcp"),
    ("-A INPUT -p udp -m tcp -j DROP", "tcp"),
    ("-A INPUT -m multiport --dports 1,2 -j DROP", "multiport"),
    ("-A INPUT -p tcp --dports 1,2 -j DROP", "--dports"),
    ("-A INPUT -m state -j ACCEPT", "state"),
    ("-A INPUT --state NEW -j ACCEPT", "--state"),
    (
        "-A INPUT -p udp -j REJECT --reject-with tcp-reset",
        "tcp-reset",
    ),
    (
        "-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.2:80",
        "--to-destination",
    ),
    (
        "-t nat -A PREROUTING -j REDIRECT --to-ports 80",
        "--to-ports",
    ),
    // Targets and their options.
    ("-t nat -A PREROUTING -j DNAT", "DNAT"),
    ("-A INPUT -p tcp -j ACCEPT --to-ports 80", "--to-ports"),
    (
        "-t nat -A PREROUTING -p tcp --to-ports 80 -j REDIRECT",
        "--to-ports",
    ),
    (
        "-t nat -A OUTPUT -p tcp -j DNAT --to-source 10.0.0.1",
        "--to-source",
    ),
    ("-A INPUT -j INPUT", "INPUT"),
    ("-A INPUT -j QUEUE", "QUEUE"),
    ("-A MYCHAIN -j MYCHAIN", "MYCHAIN"),
    (
        "-A INPUT -j LOG --log-prefix abcdefghijabcdefghijabcdefghij",
        "abcdefghijabcdefghijabcdefghij",
    ),
    ("-A INPUT -j LOG --log-level 8", "8"),
    ("-A INPUT -j LOG --log-prefix ''", ""),
    ("-A INPUT -p icmp -m icmp -j DROP", "icmp"),
    (
        "-A INPUT -p tcp -j REJECT --reject-with tcp-reset --reject-with tcp-reset",
        "--reject-with",
    ),
    ("-A INPUT -j DROP -j ACCEPT", "-j"),
    ("-A INPUT -j bad/name", "bad/name"),
    // Values out of range or malformed.
    ("-A INPUT -p tcp --dport 70000 -j DROP", "70000"),
    ("-A INPUT -p tcp --dport 2000:1000 -j DROP", "2000:1000"),
    (
        "-t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 80-70",
        "80-70",
    ),
    (
        "-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j DROP",
        "16",
    ),
    ("-A INPUT -p tcp -m multiport --dports 21,,25 -j DROP", ""),
    ("-A INPUT -s 10.0.0.1,10.0.0.2 -j DROP", "10.0.0.1,10.0.0.2"),
    ("-A INPUT -d ::1 -j DROP", "::1"),
    ("-A INPUT -s 10.0.0.0/33 -j DROP", "10.0.0.0/33"),
    ("-A INPUT -s localhost -j DROP", "localhost"),
    ("-A INPUT -i eth0@if3 -j DROP", "eth0@if3"),
    ("-A INPUT -p gre -j DROP", "gre"),
    ("-A INPUT -p tcp --tcp-flags SYN -j DROP", "-j"),
    ("-A INPUT -m state --state SNAT -j ACCEPT", "SNAT"),
    ("-D INPUT 0", "0"),
    ("-I INPUT 99999999999 -j ACCEPT", "99999999999"),
    // Duplicates and conflicts.
    ("-A INPUT -i eth0 -i eth1 -j ACCEPT", "-i"),
    ("-A INPUT -p tcp --dport 25 --dport 26 -j DROP", "--dport"),
    (
        "-A INPUT -p tcp --syn --tcp-flags ALL SYN -j DROP",
        "--tcp-flags",
    ),
    ("-A INPUT -p tcp -m tcp -m tcp --dport 22 -j ACCEPT", "tcp"),
    (
        "-A INPUT -p tcp -m multiport --dports 25 --sports 80 -j DROP",
        "--sports",
    ),
    ("-A INPUT -p tcp --dport 22 -j ACCEPT -A OUTPUT", "-A"),
    // Negation in the wrong place.
    ("-A INPUT -p tcp --dport ! 25 -j DROP", "!"),
    ("-A INPUT -s ! 10.0.0.1 -j DROP", "!"),
    ("! -A INPUT -j ACCEPT", "!"),
    ("-A INPUT ! -j ACCEPT", "!"),
    ("-A INPUT -j ACCEPT !", "!"),
    ("-A INPUT ! ! -s 10.0.0.1 -j ACCEPT", "!"),
    ("-A INPUT ! -s 0.0.0.0/0 -j DROP", "!"),
    ("-A INPUT ! -p all -j DROP", "!"),
    // Commands and their arguments.
    ("-P FORWARD REJECT", "REJECT"),
    ("-P FORWARD drop", "drop"),
    ("-t nat -P PREROUTING DROP", "DROP"),
    ("-P MYCHAIN DROP", "MYCHAIN"),
    ("-N INPUT", "INPUT"),
    ("-N ACCEPT", "ACCEPT"),
    ("-N LOGS", "LOGS"),
    ("-X INPUT", "INPUT"),
    (
        "-N abcdefghijabcdefghijabcdefghi",
        "abcdefghijabcdefghijabcdefghi",
    ),
    ("-N -foo", "-foo"),
    ("-F INPUT -p tcp", "-p"),
    ("-D INPUT 2 -j ACCEPT", "-j"),
    ("-A INPUT -p tcp --syn=1 -j DROP", "1"),
    ("iptables -L -n", "-L"),
    ("iptables -A INPUT -g MYCHAIN", "-g"),
    ("-A INPUT -m limit --limit 5/min -j ACCEPT", "limit"),
    ("-A INPUT -m comment --comment x -j ACCEPT", "comment"),
    ("-j ACCEPT", "-j"),
    // Other programs, stray words, shell syntax.
    ("ip6tables -A INPUT -j DROP", "ip6tables"),
    ("sudo ip route add 10.0.0.0/8 dev eth0", "ip"),
    ("sudo -A INPUT -j DROP", "-A"),
    ("-A INPUT -j ACCEPT extra", "extra"),
    ("-A INPUT ACCEPT", "ACCEPT"),
    ("-A INPUT -j ACCEPT; reboot", ";"),
    ("-A INPUT -j ACCEPT && reboot", "&"),
    ("-A INPUT -j LOG --log-prefix \"$(id)\"", "$"),
    ("-A INPUT -j LOG --log-prefix 'unterminated", "'"),
    // Missing pieces: the error sits at the end of the line with an empty word.
    ("", ""),
    ("sudo", ""),
    ("-A", ""),
    ("-A INPUT -p", ""),
    ("-A INPUT -j", ""),
    ("-t nat -A PREROUTING -p tcp --tcp-flags SYN", ""),
    ("-P INPUT", ""),
];
