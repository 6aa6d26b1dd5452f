// Command tls serves HTTPS (HTTP/2 and HTTP/1.1) on io_uring: a uringnet
// listener wrapped by crypto/tls. With no -cert/-key it makes a self-signed
// certificate for localhost.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/uringnet/uringnet/go/uringnet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address host:port")
	mode := flag.String("net", "uring", "uring or std")
	certFile := flag.String("cert", "", "certificate PEM (default: self-signed)")
	keyFile := flag.String("key", "", "key PEM")
	flag.Parse()

	var cert tls.Certificate
	var err error
	if *certFile != "" {
		cert, err = tls.LoadX509KeyPair(*certFile, *keyFile)
	} else {
		cert, err = selfSigned()
	}
	if err != nil {
		log.Fatal(err)
	}
	var ln net.Listener
	if *mode == "std" {
		ln, err = net.Listen("tcp", *addr)
	} else {
		ln, err = uringnet.Listen("tcp", *addr)
	}
	if err != nil {
		log.Fatal(err)
	}
	_, onUring := ln.(*uringnet.Listener)
	log.Printf("tls: serving on https://%s (io_uring: %v)", ln.Addr(), onUring)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello over "+r.Proto+"\n")
	})}
	log.Fatal(srv.Serve(tls.NewListener(ln, cfg)))
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
