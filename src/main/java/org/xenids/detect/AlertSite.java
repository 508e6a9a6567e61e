package org.xenids.detect;

import org.xenids.alert.Endpoints;

/**
 * Where an alert-worthy payload was seen: what the alert record needs beyond the score. Only
 * built when a score crosses the threshold. {@code vif} and {@code communityId} may be null.
 */
public record AlertSite(long timestampNanos, long flowId, Endpoints endpoints, String communityId,
                        String domain, String vif) {}
