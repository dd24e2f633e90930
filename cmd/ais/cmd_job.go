package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// JobCmd groups "ais job ...": the cluster's long operations (rebalance, resilver, and the
// kinds later issues add), aggregated over the targets that run them.
type JobCmd struct {
	Ls    JobLsCmd    `cmd:"" help:"List jobs, newest first."`
	Show  JobShowCmd  `cmd:"" help:"Show a job with each target's progress."`
	Wait  JobWaitCmd  `cmd:"" help:"Wait until a job has ended on every target; fails if it failed or was aborted."`
	Stop  JobStopCmd  `cmd:"" help:"Abort a job on every target."`
	Start JobStartCmd `cmd:"" help:"Start a job: rebalance (every target), resilver (--node), ec-encode or ec-repair (a bucket)."`
}

// JobLsCmd is "ais job ls".
type JobLsCmd struct {
	Kind    string `placeholder:"KIND" help:"Only jobs of this kind (rebalance, resilver, ...)."`
	Running bool   `help:"Only running jobs."`
	jsonFlag
}

// Run lists jobs.
func (c *JobLsCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	jobs, err := cl.ListJobs(ctx, c.Kind)
	if err != nil {
		return err
	}
	if c.Running {
		kept := jobs[:0]
		for _, j := range jobs {
			if !j.State.Done() {
				kept = append(kept, j)
			}
		}
		jobs = kept
	}
	if c.JSON {
		return writeJSON(con.Out, api.JobList{Jobs: jobs})
	}
	if len(jobs) == 0 {
		fmt.Fprintln(con.Out, "no jobs")
		return nil
	}
	t := newTable("ID", "KIND", "STATE", ">TARGETS", ">OBJECTS", ">BYTES", "STARTED", ">TOOK")
	for _, j := range jobs {
		t.add(j.ID, j.Kind, stateCell(j), fmt.Sprint(len(j.Targets)),
			fmt.Sprint(j.Counters.SentObjects+j.Counters.ReceivedObjects/2),
			humanSize(max(j.Counters.SentBytes, j.Counters.ReceivedBytes)),
			time.Unix(0, j.Start).Format("01-02 15:04:05"), took(j))
	}
	return t.write(con.Out)
}

func stateCell(j api.Job) string {
	s := string(j.State)
	if len(j.Unreachable) > 0 {
		s += " (" + strings.Join(j.Unreachable, ",") + " unreachable)"
	}
	return s
}

func took(j api.Job) string {
	end := time.Now()
	if j.End > 0 {
		end = time.Unix(0, j.End)
	}
	return humanDuration(end.Sub(time.Unix(0, j.Start)))
}

// JobShowCmd is "ais job show ID".
type JobShowCmd struct {
	ID string `arg:"" name:"JOB_ID" help:"The job's ID (see ais job ls)."`
	jsonFlag
}

// Run shows a job.
func (c *JobShowCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	j, err := cl.Job(ctx, c.ID)
	if err != nil {
		return jobErr(c.ID, err)
	}
	if c.JSON {
		return writeJSON(con.Out, j)
	}
	return writeJob(con, j)
}

func writeJob(con *console, j *api.Job) error {
	fmt.Fprintf(con.Out, "%s  %s  %s  epoch %d  started %s  took %s\n", j.ID, j.Kind, stateCell(*j), j.Epoch,
		time.Unix(0, j.Start).Format(time.DateTime), took(*j))
	if j.Error != "" {
		fmt.Fprintf(con.Out, "error: %s\n", j.Error)
	}
	fmt.Fprintln(con.Out)
	if j.Kind == meta.JobScrub {
		return writeScrub(con, j)
	}
	t := newTable("TARGET", "STATE", ">VISITED", ">SENT", ">SENT BYTES", ">RECEIVED", ">RECEIVED BYTES", ">ERRORS", "NOTE")
	for _, p := range append(j.Targets, meta.JobStatus{Node: "TOTAL", Counters: j.Counters}) {
		note := p.Detail
		if p.Error != "" {
			note = p.Error
		}
		t.add(p.Node, string(p.State), fmt.Sprint(p.Counters.LocalObjects), fmt.Sprint(p.Counters.SentObjects),
			humanSize(p.Counters.SentBytes), fmt.Sprint(p.Counters.ReceivedObjects), humanSize(p.Counters.ReceivedBytes),
			fmt.Sprint(p.Counters.Errors), note)
	}
	return t.write(con.Out)
}

// JobWaitCmd is "ais job wait ID".
type JobWaitCmd struct {
	ID      string        `arg:"" name:"JOB_ID" help:"The job's ID (see ais job ls)."`
	Timeout time.Duration `placeholder:"DURATION" help:"Give up after this long (0: wait as long as it takes)."`
	jsonFlag
}

// Run waits for a job's end.
func (c *JobWaitCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	j, err := cl.WaitJob(ctx, c.ID, time.Second)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("job %s still %s after %s", c.ID, j.State, c.Timeout)
	}
	if err != nil {
		return jobErr(c.ID, err)
	}
	if c.JSON {
		if err := writeJSON(con.Out, j); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(con.Out, "%s: %s after %s\n", j.ID, j.State, took(*j))
	}
	switch j.State {
	case meta.JobFailed, meta.JobAborted:
		if j.Error != "" {
			return fmt.Errorf("job %s %s: %s", j.ID, j.State, j.Error)
		}
		return fmt.Errorf("job %s %s", j.ID, j.State)
	}
	return nil
}

// JobStopCmd is "ais job stop ID".
type JobStopCmd struct {
	ID string `arg:"" name:"JOB_ID" help:"The job's ID (see ais job ls)."`
}

// Run aborts a job.
func (c *JobStopCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	j, err := cl.AbortJob(ctx, c.ID)
	if err != nil {
		return jobErr(c.ID, err)
	}
	fmt.Fprintf(con.Out, "%s: %s\n", j.ID, j.State)
	return nil
}

// JobStartCmd is "ais job start KIND".
type JobStartCmd struct {
	Kind   string `arg:"" name:"KIND" enum:"rebalance,resilver,mirror,scrub,ec-encode,ec-repair" help:"rebalance: every target moves its objects to their owners now; resilver: one target (--node) moves its objects to their mountpaths and remakes lost mirror copies; mirror: make or remove a bucket's mirror copies per mirror.copies; scrub: re-hash a bucket's objects and copies and restore the damaged ones; ec-encode, ec-repair: encode a bucket's objects, or put back every missing slice, replica and copy."`
	Bucket string `arg:"" optional:"" name:"BUCKET" predictor:"bucket" help:"The bucket of a mirror, scrub, ec-encode or ec-repair job, ais://NAME."`
	Node   string `placeholder:"NODE_ID" predictor:"node" help:"Only this target (required for resilver)."`
	Wait   bool   `help:"Wait until the job has ended."`
}

// Run starts a job.
func (c *JobStartCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	if c.Kind == meta.JobResilver && c.Node == "" {
		return fmt.Errorf("a resilver runs on one target: name it with --node")
	}
	req := api.JobRequest{Kind: c.Kind, Node: c.Node}
	switch {
	case c.Kind == meta.JobMirror || c.Kind == meta.JobScrub || c.Kind == "ec-encode" || c.Kind == "ec-repair":
		if c.Bucket == "" {
			return fmt.Errorf("a %s job works on one bucket: ais job start %s ais://BUCKET", c.Kind, c.Kind)
		}
		u, err := parseURI(c.Bucket, true)
		if err != nil {
			return err
		}
		req.Args = map[string]string{"bucket": u.Bucket}
	case c.Bucket != "":
		return fmt.Errorf("a %s job takes no bucket", c.Kind)
	}
	j, err := cl.StartJob(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(con.Out, "started %s\n", j.ID)
	if !c.Wait {
		return nil
	}
	return (&JobWaitCmd{ID: j.ID}).Run(ctx, cl, con)
}

// jobErr ties err to a job.
func jobErr(id string, err error) error {
	if errors.Is(err, meta.ErrJobNotFound) {
		return fmt.Errorf("job %s: no target has it (see ais job ls)", id)
	}
	return err
}

// ShowRebalanceCmd is "ais show rebalance".
type ShowRebalanceCmd struct {
	Interval time.Duration `short:"i" default:"1s" help:"Time between two refreshes."`
	Count    int           `short:"n" default:"0" help:"Number of refreshes; 0: until Ctrl-C or the rebalance is done on a terminal, 1 elsewhere."`
	jsonFlag
}

// Run shows each target's part in the rebalance towards the current placement.
func (c *ShowRebalanceCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	if c.Interval <= 0 {
		return fmt.Errorf("--interval must be positive")
	}
	count := c.Count
	refresh := count == 0 && con.OutTerminal && !c.JSON
	if count == 0 && !refresh {
		count = 1
	}
	for n := 0; count == 0 || n < count; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(c.Interval):
			}
		}
		ri, err := cl.Rebalance(ctx)
		if err != nil {
			return err
		}
		if c.JSON {
			if err := writeJSON(con.Out, ri); err != nil {
				return err
			}
			continue
		}
		if refresh || count > 1 {
			if con.OutTerminal {
				fmt.Fprint(con.Out, "\x1b[H\x1b[2J")
			}
		}
		if err := writeRebalance(con, ri); err != nil {
			return err
		}
		if refresh && ri.Done && n > 0 {
			return nil
		}
	}
	return nil
}

func writeRebalance(con *console, ri *api.RebalanceInfo) error {
	state := "running"
	if ri.Done {
		state = "done"
	}
	fmt.Fprintf(con.Out, "%s  epoch %d  rebalance %s\n", time.Now().Format("15:04:05"), ri.Epoch, state)
	if len(ri.Unreachable) > 0 {
		fmt.Fprintf(con.Out, "unreachable: %s\n", strings.Join(ri.Unreachable, ", "))
	}
	t := newTable("TARGET", "EPOCH", "JOB", "STATE", ">VISITED", ">SENT", ">SENT BYTES", ">RECEIVED", ">RECEIVED BYTES", ">ERRORS", "SETTLED")
	for _, st := range ri.Targets {
		js := string(st.State)
		if st.Done == st.Placement && !st.Running {
			js = "done"
		}
		t.add(st.Node, fmt.Sprint(st.Epoch), st.Job, js, fmt.Sprint(st.Counters.LocalObjects),
			fmt.Sprint(st.Counters.SentObjects), humanSize(st.Counters.SentBytes),
			fmt.Sprint(st.Counters.ReceivedObjects), humanSize(st.Counters.ReceivedBytes),
			fmt.Sprint(st.Counters.Errors), fmt.Sprint(st.Settled))
	}
	return t.write(con.Out)
}
