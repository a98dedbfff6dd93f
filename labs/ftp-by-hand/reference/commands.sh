# On the server: the capture
sudo tcpdump -i eth0 -w ftp.pcap
# Terminal 1, the control connection
telnet 10.0.0.21 21
USER anonymous
PASS anonymous
PWD
CWD debian
PASV
# 227 Entering Passive Mode (10,0,0,21,156,64): 156*256+64 = 40000
# Terminal 2, the data connection
telnet 10.0.0.21 40000 > README
# Terminal 1 again
RETR README
QUIT
