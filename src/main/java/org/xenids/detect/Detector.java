package org.xenids.detect;

import org.xenids.alert.EveEvent;

/**
 * A payload detector. {@link #score} is the hot path: it reads {@code len} bytes of {@code buf}
 * from {@code off}, keeps no reference to them and allocates nothing. A score above 1.0 is
 * alert-worthy (distance over the calibrated threshold); {@code NaN} means no model applies (the
 * detector counts those). {@link #explain} builds the alert for such a payload and may allocate:
 * it runs only for the rare payloads that cross the threshold. Instances are not thread-safe
 * (they reuse scratch buffers); use one per thread.
 */
public interface Detector {

    /** Short name used in signatures and score files, e.g. {@code "payl"}. */
    String name();

    /** The payload's score: distance / threshold, or NaN when no model applies. */
    double score(Subject subject, byte[] buf, int off, int len);

    /** The alert for a payload (normally one whose score is above 1), with the detector's detail. */
    EveEvent.Alert explain(Subject subject, byte[] buf, int off, int len, AlertSite site);
}
