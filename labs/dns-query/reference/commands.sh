# On the DNS server: the capture
sudo tcpdump -i eth0 -w dns.pcap udp port 53 or tcp port 53
# On the client
dig @10.0.0.53 mx example.test
dig @10.0.0.53 nosuch.example.test
dig +tcp @10.0.0.53 mx example.test
