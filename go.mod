module github.com/uringnet/uringnet

go 1.22
