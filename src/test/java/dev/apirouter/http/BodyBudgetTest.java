package dev.apirouter.http;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BodyBudgetTest {
    @Test
    void reservationsStayWithinTheLimitAndComeBack() {
        BodyBudget budget = new BodyBudget(100);
        assertTrue(budget.tryReserve(60));
        assertFalse(budget.tryReserve(41));
        assertTrue(budget.tryReserve(40));
        budget.release(60);
        assertEquals(40, budget.reserved());
        assertTrue(budget.tryReserve(60));
    }
}
