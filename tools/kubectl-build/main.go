// kubectl for machines without one: the upstream command, built from the k8s.io/kubectl module at
// the version pinned in go.mod (tools/install-deploy-tools.sh builds it only when none is on PATH).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	os.Exit(cli.Run(cmd.NewDefaultKubectlCommand()))
}
