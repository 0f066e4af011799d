module github.com/semroute/semroute

go 1.26.8

require (
	github.com/goccy/go-yaml v1.19.2 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/philippgille/chromem-go v0.7.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
