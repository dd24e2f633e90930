package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Service is what Serve runs: Run until ctx ends, WaitServing until the daemon serves
// clients, Healthy for the watchdog.
type Service struct {
	Run         func(ctx context.Context) error
	WaitServing func(ctx context.Context) error
	// Healthy, if set, is asked before every watchdog ping; a false answer skips the ping,
	// so a daemon that stops serving is restarted by the service manager.
	Healthy func(ctx context.Context) bool
	// Status is the status line sent with READY=1.
	Status string
}

// Serve runs svc.Run until ctx ends and speaks the service manager's protocol meanwhile:
// READY=1 once WaitServing returns, WATCHDOG=1 every watchdog/3 while Healthy says so (if
// watchdog > 0, from $WATCHDOG_USEC), STOPPING=1 when ctx ends. It returns Run's error after
// its helpers have stopped.
func Serve(ctx context.Context, log *slog.Logger, n *Notifier, watchdog time.Duration, svc Service) error {
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if n.Enabled() {
		wg.Go(func() {
			if err := svc.WaitServing(hctx); err != nil {
				return
			}
			if err := n.Notify("READY=1", "STATUS="+svc.Status); err != nil {
				log.Warn("telling the service manager we are ready", "err", err)
			}
			if watchdog > 0 {
				pingWatchdog(hctx, log, n, watchdog, svc.Healthy)
			}
		})
		wg.Go(func() {
			<-hctx.Done()
			if ctx.Err() != nil {
				_ = n.Notify("STOPPING=1", "STATUS=draining and stopping")
			}
		})
	}
	err := svc.Run(ctx)
	cancel()
	wg.Wait()
	return err
}

func pingWatchdog(ctx context.Context, log *slog.Logger, n *Notifier, every time.Duration, healthy func(context.Context) bool) {
	t := time.NewTicker(max(every/3, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if healthy != nil {
			hctx, cancel := context.WithTimeout(ctx, every/3)
			ok := healthy(hctx)
			cancel()
			if !ok {
				log.Warn("health check failed; not pinging the watchdog")
				continue
			}
		}
		_ = n.Notify("WATCHDOG=1")
	}
}
