package org.xenids.detect;

/** Which way a payload travelled, relative to the flow's initiator (the client). */
public enum Direction {
    TO_SERVER, TO_CLIENT;

    /** The EVE-style name: {@code to_server} / {@code to_client}. */
    public String label() {
        return this == TO_SERVER ? "to_server" : "to_client";
    }
}
