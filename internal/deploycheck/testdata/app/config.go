// Package main is a fixture for the scanner's test: each way envconfig can
// name a variable, mirrored in envvars_test.go where envconfig itself names
// them.
package main

import (
	"os"
	"time"

	tc "github.com/refundflow/refundflow/internal/temporalclient"
)

type Config struct {
	tc.Config
	Gateway Endpoint      `envconfig:"GW"`
	Plain   string        // no tag: the field name
	Skipped string        `ignored:"true"`
	hidden  string        `envconfig:"HIDDEN"`
	Wait    time.Duration `envconfig:"WAIT" default:"5s" required:"true"`
	Embedded
	hiddenEmbedded
}

// hiddenEmbedded is unexported, so envconfig cannot set it.
type hiddenEmbedded struct {
	Secret string `envconfig:"EMBEDDED_SECRET"`
}

type Endpoint struct {
	URL   string `envconfig:"URL" default:"http://x"`
	Inner Leaf
}

type Leaf struct {
	Depth int `envconfig:"DEPTH"`
}

type Embedded struct {
	Flag bool `envconfig:"FLAG"`
}

// server holds a Config but is not configuration itself.
type server struct {
	cfg  Config
	Name string
}

func main() {
	_ = os.Getenv("REFUNDFLOW_DIRECT")
	_ = server{}.cfg.hidden
}
