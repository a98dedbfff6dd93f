# On the client: the capture, then the lease
sudo tcpdump -i eth0 -w dhcp.pcap port 67 or port 68 or arp
sudo dhclient -v eth0
