# On the server
nc -l -k -p 27664 > dump.txt &
sudo tcpdump -i eth0 -w homework.pcap &
# On the client
telnet 10.0.0.2 27664
# On the server
sudo iptables -t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 21 -j REDIRECT --to-ports 27664
sudo iptables -t nat -L PREROUTING -n -v
# On the client
telnet 10.0.0.2 21
