# On the server: the mail server listens on 25025; send what arrives for 25 there
sudo iptables -t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 25 -j REDIRECT --to-ports 25025
sudo iptables -t nat -L PREROUTING -n -v
# On the client: capture, then connect to 25
sudo tcpdump -i eth0 -w redirect.pcap
telnet 10.0.0.25 25
QUIT
