package owltest

// Users returns every person, in the order they were added.
func (f *Fake) Users() []User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneAll(f.users, cloneUser)
}

// Applications returns every application, in the order they were added.
func (f *Fake) Applications() []Application {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneAll(f.apps, cloneApplication)
}

// AccessStates returns every access state, current and past, in the order they were added.
func (f *Fake) AccessStates() []AccessState {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	return cloneAll(f.states, cloneAccessState)
}

// ActiveAccessStates returns the access a person holds now.
func (f *Fake) ActiveAccessStates(userID string) []AccessState {
	var active []AccessState
	for _, s := range f.AccessStates() {
		if s.GranteeUserID == userID && s.Active() {
			active = append(active, s)
		}
	}
	return active
}

// Revocations returns every revocation, in the order they were filed.
func (f *Fake) Revocations() []Revocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	return cloneAll(f.revocations, cloneRevocation)
}

// User returns the person with this ID.
func (f *Fake) User(id string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(id)
	return cloneUser(u), ok
}

// UserByEmail returns the person with exactly this email.
func (f *Fake) UserByEmail(email string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.userByEmail(email)
	return cloneUser(u), ok
}

// Application returns the application with this ID.
func (f *Fake) Application(id string) (Application, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.app(id)
	return cloneApplication(a), ok
}

// ApplicationByTitle returns the application with exactly this title.
func (f *Fake) ApplicationByTitle(title string) (Application, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.apps {
		if a.Title == title {
			return cloneApplication(a), true
		}
	}
	return Application{}, false
}

// AccessState returns the access state with this ID.
func (f *Fake) AccessState(id string) (AccessState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	if i := f.stateIndex(id); i >= 0 {
		return cloneAccessState(f.states[i]), true
	}
	return AccessState{}, false
}

// Revocation returns the revocation with this ID.
func (f *Fake) Revocation(id string) (Revocation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	if i := f.revocationIndex(id); i >= 0 {
		return cloneRevocation(f.revocations[i]), true
	}
	return Revocation{}, false
}
