package dev.apirouter.http;

import dev.apirouter.call.GatewayCall;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdmissionTest {
    @Test
    void bytesAnUploadGivesBackLeaveTheBudgetAndAreNotGivenBackTwice() {
        BodyBudget budget = new BodyBudget(100);
        InflightLimiter limiter = new InflightLimiter(10);
        assertTrue(limiter.tryAcquire());
        Admission admission = Admission.admitted(limiter, budget, new GatewayCall("r", null, null));
        assertTrue(admission.reserve(60));
        assertFalse(admission.reserve(60), "over the budget");
        admission.unreserve(40);
        assertEquals(20, budget.reserved());
        admission.unreserve(40); // more than is left: only what is left
        assertEquals(0, budget.reserved());
        assertTrue(admission.reserve(30));
        admission.release();
        assertEquals(0, budget.reserved());
        admission.unreserve(30);
        assertEquals(0, budget.reserved(), "nothing given back twice");
    }
}
